import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { createMetrics } from '../../src/metrics/metrics.js';

// The operator documents are checked against what they describe, so they cannot drift:
// docs/metrics.md against the registry, docs/runbook.md against the alert rules.

interface CatalogueEntry {
  name: string;
  type: string;
  labels: string[];
  help: string;
}

async function registryCatalogue(): Promise<Map<string, CatalogueEntry>> {
  const { registry } = createMetrics();
  const metrics = registry.getMetricsAsArray() as unknown as Array<{ name: string; help: string; type: unknown; labelNames?: readonly string[] }>;
  return new Map(metrics.map((m) => [m.name, { name: m.name, type: String(m.type), labels: [...(m.labelNames ?? [])], help: m.help }]));
}

/** Rows of the markdown tables whose first cell is a backticked metric name. */
function documentedMetrics(markdown: string): Map<string, CatalogueEntry> {
  const rows = new Map<string, CatalogueEntry>();
  for (const line of markdown.split('\n')) {
    const cells = /^\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|(.*)\|\s*$/.exec(line);
    if (!cells) continue;
    const [type = '', labels = '', meaning = ''] = (cells[2] ?? '').split('|').map((cell) => cell.trim());
    assert.ok(!rows.has(cells[1] ?? ''), `${cells[1]} documented twice`);
    rows.set(cells[1] ?? '', { name: cells[1] ?? '', type, labels: labels === '—' ? [] : labels.split(/,\s*/), help: meaning });
  }
  return rows;
}

const metricsDoc = readFileSync('docs/metrics.md', 'utf8');
const runbook = readFileSync('docs/runbook.md', 'utf8');

describe('docs/metrics.md', () => {
  it('documents every registered metric with its type, its labels in order and its help text, and nothing else', async () => {
    const registered = await registryCatalogue();
    const documented = documentedMetrics(metricsDoc);
    assert.deepEqual([...documented.keys()].sort(), [...registered.keys()].sort(), 'documented names = registered names');
    for (const [name, entry] of registered) {
      const doc = documented.get(name);
      assert.equal(doc?.type, entry.type, `${name}: type`);
      assert.deepEqual(doc?.labels, entry.labels, `${name}: labels`);
      assert.ok(doc?.help.startsWith(entry.help), `${name}: meaning starts with the help text "${entry.help}"`);
    }
  });

  it('Herald metrics follow the naming rules: prefix, _total on counters, units on histograms, bounded label names', async () => {
    const bounded = new Set(['app', 'provider', 'type', 'status', 'reason', 'route', 'method', 'state', 'queue', 'direction', 'version']);
    const herald = [...(await registryCatalogue()).values()].filter((m) => m.name.startsWith('herald_'));
    assert.ok(herald.length >= 30);
    for (const metric of herald) {
      if (metric.type === 'counter') assert.match(metric.name, /_total$/, metric.name);
      else assert.doesNotMatch(metric.name, /_total$/, metric.name);
      if (metric.type === 'histogram') assert.match(metric.name, /_(seconds|bytes)$/, metric.name);
      for (const label of metric.labels) assert.ok(bounded.has(label), `${metric.name}: label ${label} is not one of the bounded labels`);
      assert.ok(metric.help.length > 10, `${metric.name}: help text`);
    }
  });

  it('the parser reads the table as written (a row with a wrong label would be caught)', () => {
    const rows = documentedMetrics('| `herald_x_total` | counter | app, reason | Something. More. |\n| `herald_y` | gauge | — | Y. |');
    assert.deepEqual(rows.get('herald_x_total'), { name: 'herald_x_total', type: 'counter', labels: ['app', 'reason'], help: 'Something. More.' });
    assert.deepEqual(rows.get('herald_y')?.labels, []);
  });
});

/** GitHub's heading anchor: lower-case, spaces to dashes, punctuation dropped. */
const anchor = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');

/** Where docs/runbook.md is served: a documented placeholder that deployments replace (alerts.yml, docs/deploy.md). */
const RUNBOOK_BASE = 'https://github.com/herald-gateway/herald/blob/main/docs/runbook.md';

describe('docs/runbook.md', () => {
  const rules = (parse(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; annotations?: { runbook?: string; runbook_url?: string } }> }> }).groups
    .flatMap((group) => group.rules)
    .filter((rule) => rule.alert);
  const sections = new Map(
    runbook
      .split(/^## /m)
      .slice(1)
      .map((section) => [anchor(section.split('\n', 1)[0] ?? ''), section] as const),
  );

  it('has a section for every alert, where its absolute runbook_url points, saying what it means and what to do', () => {
    assert.ok(rules.length >= 7);
    for (const rule of rules) {
      // Alertmanager and Grafana link runbook_url as it is: a relative path leads nowhere.
      assert.equal(rule.annotations?.runbook, undefined, `${rule.alert}: runbook_url, not a relative runbook annotation`);
      const link = rule.annotations?.runbook_url ?? '';
      assert.equal(link, `${RUNBOOK_BASE}#${anchor(rule.alert ?? '')}`, `${rule.alert}: runbook_url`);
      const section = sections.get(anchor(rule.alert ?? ''));
      assert.ok(section, `docs/runbook.md has no section for ${rule.alert}`);
      assert.match(section, /\*\*Means:\*\*/, `${rule.alert}: what it means`);
      assert.match(section, /\*\*Do:\*\*/, `${rule.alert}: what to do`);
    }
  });

  it('the runbook_url base is documented as a placeholder to replace', () => {
    for (const file of ['deploy/prometheus/alerts.yml', 'docs/deploy.md']) assert.ok(readFileSync(file, 'utf8').includes(RUNBOOK_BASE), `${file} names ${RUNBOOK_BASE}`);
  });

  it('has no section for an alert that does not exist, and every in-page link resolves', () => {
    const alertAnchors = new Set(rules.map((rule) => anchor(rule.alert ?? '')));
    for (const name of sections.keys()) assert.ok(alertAnchors.has(name), `section ${name} matches no alert`);
    for (const [, target] of runbook.matchAll(/\]\(#([\w-]+)\)/g)) assert.ok(sections.has(target ?? ''), `link #${target}`);
  });
});

describe('docs/deploy.md', () => {
  const deploy = readFileSync('docs/deploy.md', 'utf8');

  it('every repository path it names exists and every in-page link resolves', () => {
    const paths = [...deploy.matchAll(/`((?:deploy|docs|config|schema)\/[\w./-]+|Dockerfile)`/g)].map((m) => m[1] ?? '');
    assert.ok(paths.length >= 5);
    for (const path of paths) assert.ok(existsSync(path), `${path} does not exist`);
    const headings = new Set([...deploy.matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1] ?? '')));
    for (const [, target] of deploy.matchAll(/\]\(#([\w-]+)\)/g)) assert.ok(headings.has(target ?? ''), `link #${target}`);
    for (const [, file, target] of deploy.matchAll(/\]\((\w+\.md)#([\w-]+)\)/g)) {
      const other = readFileSync(`docs/${file}`, 'utf8');
      assert.ok([...other.matchAll(/^#+ (.+)$/gm)].some((m) => anchor(m[1] ?? '') === target), `${file}#${target}`);
    }
  });

  it('names every config key it documents as one the schema knows', () => {
    const keys = [...deploy.matchAll(/`((?:server|queue|redis|metrics|webhooks|gateway)\.\w+)`/g)].map((m) => m[1] ?? '');
    assert.ok(keys.length >= 5);
    const defaults = configSchema.parse({}) as unknown as Record<string, Record<string, unknown>>;
    for (const key of keys) {
      const [section = '', name = ''] = key.split('.');
      const known = name in (defaults[section] ?? {}) || (section === 'redis' && ['url', 'mode', 'sentinels', 'sentinelName', 'clusterNodes', 'keyPrefix'].includes(name)) || (section === 'server' && name === 'pidFile');
      assert.ok(known, `${key} is not a configuration key`);
    }
  });
});
