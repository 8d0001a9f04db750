import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { configSchema } from '../../src/config/schema.js';

// No Docker engine runs here: the compose stack is checked for what would break at
// `docker compose up` — missing mounts, port clashes between replicas, Prometheus
// not finding its rules, Grafana not finding its dashboard or data source.

interface Service {
  image?: string;
  build?: unknown;
  deploy?: { replicas?: number };
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  stop_grace_period?: string;
  restart?: string;
}
const compose = parse(readFileSync('deploy/compose.yaml', 'utf8')) as { services: Record<string, Service> };
const service = (name: string): Service => {
  const found = compose.services[name];
  assert.ok(found, `service ${name}`);
  return found;
};

/** `./a/b:/c:ro` → { source: 'deploy/a/b', target: '/c' } for bind mounts relative to compose.yaml. */
function binds(svc: Service): Array<{ source: string; target: string }> {
  return (svc.volumes ?? [])
    .map((volume) => volume.split(':'))
    .filter(([source]) => source?.startsWith('.'))
    .map(([source, target]) => ({ source: join('deploy', source ?? ''), target: target ?? '' }));
}

/** The repository file bind-mounted at `path` inside the container, directly or through a mounted folder. */
function hostFileAt(svc: Service, path: string): string | undefined {
  for (const { source, target } of binds(svc)) {
    if (path === target) return source;
    if (path.startsWith(`${target}/`)) return join(source, path.slice(target.length + 1));
  }
  return undefined;
}

const seconds = (duration: string | undefined) => {
  const match = /^(\d+)(s|m)$/.exec(duration ?? '10s');
  assert.ok(match, `duration ${duration}`);
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
};

describe('deploy/compose.yaml stack', () => {
  it('every bind-mounted file of every service exists', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const { source } of binds(svc)) assert.ok(existsSync(source), `${name}: ${source} is missing`);
    }
  });

  it('restarts a Herald replica (and Redis) that exits, and HeraldDown fires when discovery has no Herald target left', () => {
    for (const name of ['herald', 'redis']) assert.match(service(name).restart ?? 'no', /^(always|unless-stopped|on-failure)/, `${name}: restart policy`);
    // DNS discovery drops a dead replica instead of reporting up == 0.
    const alerts = parse(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; expr?: string }> }> };
    const down = alerts.groups.flatMap((g) => g.rules).find((rule) => rule.alert === 'HeraldDown');
    assert.match(down?.expr ?? '', /absent\(up\{job="herald"\}\)/);
  });

  it('runs Herald as at least 2 replicas whose published host ports cannot clash', () => {
    const herald = service('herald');
    const replicas = herald.deploy?.replicas ?? 1;
    assert.ok(replicas >= 2, `replicas: ${replicas}`);
    const containerPorts = new Set<string>();
    for (const mapping of herald.ports ?? []) {
      const [host, target] = mapping.split(':');
      const range = /^(\d+)-(\d+)$/.exec(host ?? '');
      assert.ok(range, `${mapping}: a host port range, one port per replica`);
      assert.ok(Number(range[2]) - Number(range[1]) + 1 >= replicas, `${mapping}: room for ${replicas} replicas`);
      containerPorts.add(target ?? '');
    }
    assert.deepEqual([...containerPorts].sort(), ['6001', '9601']);
  });

  it('deploy/herald.yaml is a configuration Herald accepts, its secret file is mounted, and stop_grace_period covers the drain', () => {
    const herald = service('herald');
    const configPath = herald.environment?.HERALD_CONFIG ?? '';
    const configFile = hostFileAt(herald, configPath);
    assert.equal(configFile, 'deploy/herald.yaml');
    const raw = parse(readFileSync(configFile, 'utf8')) as { apps: Array<{ secretFile?: string }> };
    const parsed = configSchema.safeParse(raw);
    assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues));
    assert.equal(parsed.data.server.port, 6001);
    assert.equal(parsed.data.metrics.port, 9601);
    for (const app of raw.apps) {
      const secretFile = hostFileAt(herald, app.secretFile ?? '');
      assert.ok(secretFile && existsSync(secretFile), `${app.secretFile} is mounted`);
      assert.ok(readFileSync(secretFile, 'utf8').trim().length >= 8);
    }
    const drainSeconds = (parsed.data.server.drainDelayMs + parsed.data.server.shutdownGraceMs) / 1000;
    assert.ok(seconds(herald.stop_grace_period) > drainSeconds, `stop_grace_period ${herald.stop_grace_period} > ${drainSeconds} s`);
  });

  it('Prometheus discovers every replica and loads alerts.yml from where its config points', () => {
    const prometheus = service('prometheus');
    const configFile = hostFileAt(prometheus, '/etc/prometheus/prometheus.yml');
    assert.equal(configFile, 'deploy/prometheus/prometheus.yml');
    const config = parse(readFileSync(configFile, 'utf8')) as { rule_files: string[]; scrape_configs: Array<{ dns_sd_configs?: Array<{ names: string[]; type: string; port: number }> }> };
    const discovery = config.scrape_configs.flatMap((c) => c.dns_sd_configs ?? []);
    assert.ok(discovery.some((d) => d.names.includes('herald') && d.type === 'A' && d.port === 9601), 'every replica, not one DNS answer');
    assert.ok(config.rule_files.length > 0);
    for (const rules of config.rule_files) {
      const inContainer = posix.resolve('/etc/prometheus', rules);
      assert.equal(hostFileAt(prometheus, inContainer), 'deploy/prometheus/alerts.yml', `${rules} is mounted at ${inContainer}`);
    }
  });

  it('Grafana is provisioned with the Prometheus service as data source and with the dashboard', () => {
    const grafana = service('grafana');
    assert.ok(grafana.image?.startsWith('grafana/grafana'));
    const datasourceFile = hostFileAt(grafana, '/etc/grafana/provisioning/datasources/prometheus.yaml');
    assert.ok(datasourceFile && existsSync(datasourceFile));
    const datasources = parse(readFileSync(datasourceFile, 'utf8')) as { datasources: Array<{ type: string; url: string; isDefault?: boolean }> };
    const prometheusPort = service('prometheus').ports?.[0]?.split(':').pop();
    assert.ok(datasources.datasources.some((d) => d.type === 'prometheus' && d.isDefault && d.url === `http://prometheus:${prometheusPort}`));
    const providerFile = hostFileAt(grafana, '/etc/grafana/provisioning/dashboards/herald.yaml');
    assert.ok(providerFile && existsSync(providerFile));
    const providers = parse(readFileSync(providerFile, 'utf8')) as { providers: Array<{ type: string; options: { path: string } }> };
    const dashboardDir = providers.providers.find((p) => p.type === 'file')?.options.path ?? '';
    assert.equal(hostFileAt(grafana, `${dashboardDir}/herald-dashboard.json`), 'deploy/grafana/herald-dashboard.json');
    assert.equal(dirname(grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? ''), dashboardDir);
  });

  it('prometheus.yml has a global section and named scrape jobs', () => {
    const config = parse(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')) as { global?: unknown; scrape_configs?: Array<{ job_name?: string }> };
    assert.ok(config.global);
    assert.ok(config.scrape_configs?.every((c) => typeof c.job_name === 'string'));
  });

  const promtool = spawnSync('promtool', ['--version']);
  // Without promtool this is reported as skipped, never as passing.
  const needsPromtool = { skip: !promtool.error && promtool.status === 0 ? false : 'promtool not installed' };
  it('promtool check config accepts prometheus.yml and the rule files it names', needsPromtool, () => {
    const result = spawnSync('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS: 1 rule files found/);
  });
});
