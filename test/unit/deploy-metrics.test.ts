import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { createMetrics } from '../../src/metrics/metrics.js';

// Every metric name an alert or a dashboard panel reads must be one Herald exports:
// a renamed metric otherwise leaves a silent, empty panel or an alert that never fires.

const ALERTS = 'deploy/prometheus/alerts.yml';
const ALERT_TESTS = 'deploy/prometheus/alerts.test.yml';
const DASHBOARD = 'deploy/grafana/herald-dashboard.json';

/** Series Prometheus itself adds to every target; not exported by Herald but always present. */
const SYNTHETIC = new Set(['up']);

async function exportedNames(): Promise<Set<string>> {
  const { registry } = createMetrics();
  const names = new Set(SYNTHETIC);
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    if (String(metric.type) === 'summary') for (const suffix of ['_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

interface MetricReferences {
  names: string[];
  /** `{__name__=~"..."}` selectors: each must match at least one exported name. */
  namePatterns: Array<{ op: string; value: string }>;
}

/**
 * The metric names a PromQL expression reads. Grafana variables are replaced first; label
 * matchers, strings, ranges and grouping clauses are removed; what remains that is not a
 * function call or a keyword is a metric name.
 */
function metricReferences(expression: string): MetricReferences {
  let expr = expression.replace(/\$__\w+/g, '5m').replace(/\$\{\w+(?::\w+)?\}|\$\w+/g, 'x');
  const labelValues = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/s.exec(expr);
  if (labelValues) expr = labelValues[1] ?? '';
  else if (/^\s*label_values\(\s*\w+\s*\)\s*$/.test(expr)) expr = '';
  const namePatterns = [...expr.matchAll(/__name__\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map((m) => ({ op: m[1] ?? '', value: m[2] ?? '' }));
  expr = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const match of expr.matchAll(/(?<![\w:.])[A-Za-z_:][\w:]*/g)) {
    const rest = expr.slice((match.index ?? 0) + match[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return { names, namePatterns };
}

interface Rule {
  alert?: string;
  record?: string;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}
interface RuleFile {
  groups?: Array<{ name?: unknown; rules?: Rule[] }>;
}

const ruleFile = parse(readFileSync(ALERTS, 'utf8')) as RuleFile;
const rules = (ruleFile.groups ?? []).flatMap((group) => group.rules ?? []);
const alertExpressions = rules.map((rule) => ({ where: `${ALERTS} ${rule.alert ?? rule.record}`, expr: String(rule.expr) }));

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as DashboardJson;
interface DashboardJson {
  uid?: string;
  panels: Array<{ id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid?: string }; targets?: Array<{ expr?: string; datasource?: { uid?: string } }> }>;
  templating: { list: Array<{ name: string; type: string; query?: string | { query?: string } }> };
}
const dashboardExpressions = [
  ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `${DASHBOARD} panel '${panel.title}'`, expr: target.expr ?? '' }))),
  ...dashboard.templating.list
    .filter((variable) => variable.type === 'query')
    .map((variable) => ({
      where: `${DASHBOARD} variable $${variable.name}`,
      expr: typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? ''),
    })),
];

function unknownReferences(expressions: Array<{ where: string; expr: string }>, exported: Set<string>): string[] {
  const problems: string[] = [];
  for (const { where, expr } of expressions) {
    const refs = metricReferences(expr);
    for (const name of refs.names) if (!exported.has(name)) problems.push(`${where}: '${name}' is not a metric Herald exports`);
    for (const { op, value } of refs.namePatterns) {
      const matcher = op.includes('~') ? new RegExp(`^(?:${value})$`) : { test: (name: string) => name === value };
      if (op.startsWith('!')) continue;
      if (![...exported].some((name) => matcher.test(name))) problems.push(`${where}: __name__${op}"${value}" matches no exported metric`);
    }
  }
  return problems;
}

describe('metric names in alerts and dashboard', () => {
  it('the extractor finds metric names and ignores functions, labels, keywords and Grafana variables', () => {
    const refs = metricReferences(
      'sum by (app, le) (rate(herald_apns_request_duration_seconds_bucket{app=~"$app", status!="200"}[$__rate_interval] offset 5m)) ' +
        '/ on (app) group_left sum without (instance) (herald_apns_in_flight) > 1e3 and up{job="herald"} unless {__name__=~"herald_ws_.+"}',
    );
    assert.deepEqual(refs.names, ['herald_apns_request_duration_seconds_bucket', 'herald_apns_in_flight', 'up']);
    assert.deepEqual(refs.namePatterns, [{ op: '=~', value: 'herald_ws_.+' }]);
    assert.deepEqual(metricReferences('label_values(herald_build_info, instance)').names, ['herald_build_info']);
    assert.deepEqual(metricReferences('label_values(app)').names, []);
  });

  it('reports a name Herald does not export, and a __name__ pattern that matches nothing', async () => {
    const problems = unknownReferences(
      [
        { where: 'probe', expr: 'rate(herald_apns_requests_total[5m]) + rate(herald_apns_request_total[5m])' },
        { where: 'probe', expr: 'count({__name__=~"herald_nothing_.+"})' },
      ],
      await exportedNames(),
    );
    assert.deepEqual(problems, [
      "probe: 'herald_apns_request_total' is not a metric Herald exports",
      'probe: __name__=~"herald_nothing_.+" matches no exported metric',
    ]);
  });

  it('every alert expression reads only exported metrics', async () => {
    assert.ok(alertExpressions.length >= 7);
    assert.deepEqual(unknownReferences(alertExpressions, await exportedNames()), []);
  });

  it('every dashboard expression and variable query reads only exported metrics', async () => {
    assert.ok(dashboardExpressions.length >= 30);
    assert.deepEqual(unknownReferences(dashboardExpressions, await exportedNames()), []);
  });
});

const referencedBy = (expressions: Array<{ expr: string }>) => new Set(expressions.flatMap(({ expr }) => metricReferences(expr).names));

describe('coverage', () => {
  it('the dashboard has a panel for every operational topic', () => {
    const used = referencedBy(dashboardExpressions);
    const topics: Record<string, string> = {
      connections: 'herald_ws_connections',
      'message rates': 'herald_ws_messages_received_total',
      presence: 'herald_presence_members',
      'HTTP latency': 'herald_http_request_duration_seconds_bucket',
      'HTTP errors': 'herald_http_requests_total',
      'queue depth': 'herald_queue_jobs',
      'queue age': 'herald_queue_oldest_waiting_seconds',
      'APNs throughput': 'herald_apns_requests_total',
      'APNs latency percentiles': 'herald_apns_request_duration_seconds_bucket',
      'invalid tokens': 'herald_apns_invalid_tokens_total',
      retries: 'herald_apns_retries_total',
      'certificate days left': 'herald_apns_certificate_expiry_timestamp_seconds',
      'push requests by provider': 'herald_push_requests_total',
      'push latency by provider': 'herald_push_request_duration_seconds_bucket',
      'push credentials by provider': 'herald_push_credentials_ok',
      'webhook failures': 'herald_webhook_deliveries_total',
      'dead letters': 'herald_webhook_dead_letters',
      memory: 'process_resident_memory_bytes',
      heap: 'nodejs_heap_size_used_bytes',
      CPU: 'process_cpu_seconds_total',
      'event-loop lag': 'nodejs_eventloop_lag_p99_seconds',
    };
    for (const [topic, metric] of Object.entries(topics)) assert.ok(used.has(metric), `no panel reads ${metric} (${topic})`);
  });

  it('no counter clashes with another metric in OpenMetrics (a counter foo_total is the family foo)', async () => {
    const { registry } = createMetrics();
    const metrics = await registry.getMetricsAsJSON();
    const names = new Set(metrics.map((metric) => metric.name));
    const clashes = metrics
      .filter((metric) => String(metric.type) === 'counter')
      .map((metric) => metric.name.replace(/_total$/, ''))
      .filter((family) => names.has(family));
    assert.deepEqual(clashes, []);
  });

  it('Herald exports no copy of a prom-client default: the event-loop lag comes from nodejs_eventloop_lag_*', async () => {
    const names = await exportedNames();
    assert.ok(names.has('nodejs_eventloop_lag_p99_seconds'));
    assert.deepEqual([...names].filter((name) => /^herald_.*(event_?loop|lag)/.test(name)), []);
  });

  it('alerts cover backlog, APNs 403s, certificate expiry < 14 days, Apple 5xx, refused FCM and Web Push credentials, dead letters, event-loop lag and readiness', () => {
    const byMetric = (metric: string) => rules.filter((rule) => metricReferences(String(rule.expr)).names.includes(metric)).map((rule) => String(rule.expr));
    assert.ok(byMetric('herald_queue_jobs').some((expr) => /deriv|delta|increase/.test(expr)), 'backlog growth');
    assert.ok(byMetric('herald_apns_requests_total').some((expr) => /status="403"/.test(expr)), 'APNs 403');
    assert.ok(byMetric('herald_apns_requests_total').some((expr) => /status=~"5\.\."/.test(expr)), 'APNs 5xx');
    assert.ok(byMetric('herald_apns_certificate_expiry_timestamp_seconds').some((expr) => /<\s*14\s*\*\s*86400/.test(expr)), 'certificate < 14 days');
    assert.ok(byMetric('herald_push_credentials_ok').some((expr) => /provider="fcm"/.test(expr)), 'FCM credentials refused');
    assert.ok(byMetric('herald_push_credentials_ok').some((expr) => /provider="webpush"/.test(expr)), 'Web Push credentials refused');
    assert.ok(byMetric('herald_webhook_dead_letters').some((expr) => />\s*0\b/.test(expr)), 'dead letters non-empty');
    assert.ok(byMetric('nodejs_eventloop_lag_p99_seconds').length > 0, 'event-loop lag');
    assert.ok(byMetric('herald_ready').some((expr) => /==\s*0/.test(expr)), 'not ready');
  });
});

/** The shape Prometheus requires of a rule file; used whether or not promtool is installed. */
function assertRuleFileStructure(file: RuleFile): void {
  assert.ok(Array.isArray(file.groups) && file.groups.length > 0, 'groups: a non-empty list');
  const groupNames = new Set<string>();
  for (const group of file.groups) {
    assert.equal(typeof group.name, 'string');
    assert.ok(!groupNames.has(String(group.name)), `duplicate group ${String(group.name)}`);
    groupNames.add(String(group.name));
    assert.ok(Array.isArray(group.rules) && group.rules.length > 0, `group ${String(group.name)} has rules`);
    for (const rule of group.rules) {
      const label = rule.alert ?? rule.record ?? '(unnamed)';
      assert.ok((rule.alert === undefined) !== (rule.record === undefined), `${label}: exactly one of alert, record`);
      assert.match(rule.alert ?? rule.record ?? '', /^[A-Za-z_:][\w:]*$/, `${label}: a valid name`);
      assert.equal(typeof rule.expr, 'string', `${label}: expr`);
      const expr = String(rule.expr);
      for (const [open, close] of [['(', ')'], ['{', '}'], ['[', ']']] as const) {
        assert.equal(expr.split(open).length, expr.split(close).length, `${label}: balanced ${open}${close}`);
      }
      if (rule.for !== undefined) assert.match(String(rule.for), /^(\d+(ms|s|m|h|d|w|y))+$/, `${label}: for is a duration`);
      if (rule.alert) {
        assert.match(String(rule.labels?.severity), /^(warning|critical)$/, `${label}: severity`);
        for (const key of ['summary', 'description', 'runbook_url']) assert.equal(typeof rule.annotations?.[key], 'string', `${label}: annotation ${key}`);
        assert.match(String(rule.annotations?.runbook_url), /^https:\/\/[^#\s]+#[\w-]+$/, `${label}: runbook_url is an absolute URL to a section`);
      }
    }
  }
}

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const hasPromtool = !promtool.error && promtool.status === 0;
/** Without promtool these checks are reported as skipped, never as passing. */
const needsPromtool = { skip: hasPromtool ? false : 'promtool not installed' };

function runPromtool(args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8', input });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('alerts.yml', () => {
  it('has the structure Prometheus loads: named groups, valid rules, severity and runbook on every alert', () => {
    assertRuleFileStructure(ruleFile);
  });

  it('promtool check rules accepts it', needsPromtool, () => {
    const { status, output } = runPromtool(['check', 'rules', ALERTS]);
    assert.equal(status, 0, output);
    assert.match(output, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('promtool test rules: each alert fires (and stays quiet) on the series of alerts.test.yml', needsPromtool, () => {
    const { status, output } = runPromtool(['test', 'rules', ALERT_TESTS]);
    assert.equal(status, 0, output);
    assert.match(output, /SUCCESS/);
  });

  it('promtool parses every dashboard expression', needsPromtool, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-promtool-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'dashboard-rules.yml');
    const substituted = dashboardExpressions
      .filter(({ where }) => where.includes(' panel '))
      .map(({ expr }, index) => ({ record: `dashboard:expr_${index}`, expr: expr.replace(/\$__\w+/g, '5m').replace(/\$\{?\w+\}?/g, '.*') }));
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: substituted }] }));
    const { status, output } = runPromtool(['check', 'rules', file]);
    assert.equal(status, 0, output);
    assert.match(output, new RegExp(`SUCCESS: ${substituted.length} rules found`));
  });

  it('promtool check metrics finds no problem in herald_ metrics', needsPromtool, async () => {
    const { registry } = createMetrics();
    const { output } = runPromtool(['check', 'metrics'], await registry.metrics());
    const ours = output.split('\n').filter((line) => line.startsWith('herald_'));
    assert.deepEqual(ours, []);
  });
});

describe('herald-dashboard.json', () => {
  it('is importable: uid, a Prometheus data-source variable used by every panel, unique ids, panels inside a 24-column grid without overlap', () => {
    assert.equal(typeof dashboard.uid, 'string');
    assert.ok(dashboard.templating.list.some((v) => v.name === 'DS_PROMETHEUS' && v.type === 'datasource'));
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
    const cells = new Map<string, string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24, `${panel.title}: inside the grid`);
      if (panel.type === 'row') continue;
      assert.equal(panel.datasource?.uid, '${DS_PROMETHEUS}', `${panel.title}: data source`);
      for (const target of panel.targets ?? []) assert.equal(target.datasource?.uid, '${DS_PROMETHEUS}', `${panel.title}: target data source`);
      for (let row = y; row < y + h; row++) {
        for (let col = x; col < x + w; col++) {
          const other = cells.get(`${row}:${col}`);
          assert.equal(other, undefined, `${panel.title} overlaps ${other}`);
          cells.set(`${row}:${col}`, panel.title);
        }
      }
    }
  });
});
