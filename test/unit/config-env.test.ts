import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { deriveEnvBindings, envBindings, envNameOf } from '../../src/config/env.js';
import { leafPaths, loadConfig, loadConfigWithOrigins } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { isHeraldError } from '../../src/errors.js';

function invalidMessage(env: Record<string, string>): string {
  try {
    loadConfig({ env });
  } catch (err) {
    assert.ok(isHeraldError(err), String(err));
    return err.message;
  }
  assert.fail('expected the configuration to be refused');
}

describe('HERALD_* variables for every scalar config key', () => {
  it('sets keys that had no variable before (server.requestTimeoutMs, metrics.enabled, gateway.trustedProxies)', () => {
    const config = loadConfig({
      env: {
        HERALD_SERVER_REQUEST_TIMEOUT_MS: '40000',
        HERALD_METRICS_ENABLED: 'false',
        HERALD_GATEWAY_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1',
        HERALD_WEBHOOKS_BATCH_MS: '0',
        HERALD_REDIS_MODE: 'sentinel',
        HERALD_REDIS_SENTINELS: 'sentinel-a:26379,[::1]:26380',
        HERALD_REDIS_SENTINEL_NAME: 'mymaster',
      },
    });
    assert.equal(config.server.requestTimeoutMs, 40_000);
    assert.equal(config.metrics.enabled, false);
    assert.deepEqual(config.gateway.trustedProxies, ['10.0.0.0/8', '127.0.0.1']);
    assert.equal(config.webhooks.batchMs, 0);
    assert.deepEqual(config.redis.sentinels, [
      { host: 'sentinel-a', port: 26379 },
      { host: '::1', port: 26380 },
    ]);
  });

  it('covers every scalar leaf of the schema, apps[] aside (a new key gets its variable without edits)', () => {
    const defaults = configSchema.parse({});
    const { apps: _apps, ...rest } = defaults;
    const names = new Set(envBindings.map((binding) => binding.path.join('.')));
    for (const [path] of leafPaths(rest)) {
      // Lists of objects other than host:port pairs have no flat form.
      assert.ok(names.has(path), `${path} has no HERALD_* variable`);
    }
    // A schema it has never seen: its keys are mapped by their names.
    const extra = deriveEnvBindings(z.strictObject({ fresh: z.strictObject({ someLimitMs: z.number().int().default(5), on: z.boolean().default(true) }).prefault({}) }));
    assert.deepEqual(
      extra.map((binding) => [binding.env, binding.kind, binding.defaultText]),
      [
        ['HERALD_FRESH_SOME_LIMIT_MS', 'integer', '5'],
        ['HERALD_FRESH_ON', 'boolean', 'true'],
      ],
    );
  });

  it('names each variable after its key and never gives two keys one name', () => {
    assert.equal(envNameOf(['server', 'requestTimeoutMs']), 'HERALD_SERVER_REQUEST_TIMEOUT_MS');
    const all = envBindings.flatMap((binding) => [binding.env, ...binding.aliases, ...(binding.secret ? [`${binding.env}_FILE`] : [])]);
    assert.equal(new Set(all).size, all.length, all.join(' '));
    for (const reserved of ['HERALD_CONFIG', 'HERALD_URL', 'HERALD_APP_ID', 'HERALD_APP_KEY', 'HERALD_APP_SECRET']) assert.ok(!all.includes(reserved), reserved);
  });

  it('keeps the short names HERALD_HOST, HERALD_PORT and HERALD_SHUTDOWN_GRACE_MS; the long name wins when both are set', () => {
    const config = loadConfig({ env: { HERALD_HOST: '0.0.0.0', HERALD_PORT: '7100', HERALD_SHUTDOWN_GRACE_MS: '2000' } });
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.server.port, 7100);
    assert.equal(config.server.shutdownGraceMs, 2000);
    const both = loadConfigWithOrigins({ env: { HERALD_PORT: '7101', HERALD_SERVER_PORT: '7102' } });
    assert.equal(both.config.server.port, 7102);
    assert.equal(both.origins.get('server.port'), 'env HERALD_SERVER_PORT');
  });

  it('parses by type and names the variable in every refusal', () => {
    assert.match(invalidMessage({ HERALD_GATEWAY_MAX_PAYLOAD_BYTES: '10kb' }), /gateway\.maxPayloadBytes: must be an integer, got '10kb' \(env HERALD_GATEWAY_MAX_PAYLOAD_BYTES\)/);
    assert.match(invalidMessage({ HERALD_METRICS_ENABLED: 'maybe' }), /metrics\.enabled: must be true or false.*\(env HERALD_METRICS_ENABLED\)/);
    assert.match(invalidMessage({ HERALD_QUEUE_CONCURRENCY: '0' }), /queue\.concurrency: .*\(env HERALD_QUEUE_CONCURRENCY\)/);
    assert.match(invalidMessage({ HERALD_LOG_FORMAT: 'xml' }), /log\.format: .*got 'xml' \(env HERALD_LOG_FORMAT\)/);
    assert.match(invalidMessage({ HERALD_GATEWAY_TRUSTED_PROXIES: '10.0.0.0/8,not-an-ip' }), /gateway\.trustedProxies\[1\]: must be an IP address.*\(env HERALD_GATEWAY_TRUSTED_PROXIES\)/);
    assert.match(invalidMessage({ HERALD_REDIS_CLUSTER_NODES: 'a:1,b' }), /redis\.clusterNodes: must be a comma-separated list of host:port.*\(env HERALD_REDIS_CLUSTER_NODES\)/);
  });

  it('reads the Redis URL from HERALD_REDIS_URL_FILE and never echoes it in a refusal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-env-'));
    const path = join(dir, 'redis-url');
    writeFileSync(path, 'redis://:hunter2@10.0.0.5:6379/0\n');
    const { config, origins } = loadConfigWithOrigins({ env: { HERALD_REDIS_URL_FILE: path } });
    assert.equal(config.redis.url, 'redis://:hunter2@10.0.0.5:6379/0');
    assert.equal(origins.get('redis.url'), 'env HERALD_REDIS_URL_FILE');
    writeFileSync(path, 'http://:hunter2@x');
    const message = invalidMessage({ HERALD_REDIS_URL_FILE: path });
    assert.match(message, /redis\.url: .*\(env HERALD_REDIS_URL_FILE\)/);
    assert.doesNotMatch(message, /hunter2/);
  });

  it('tells where each value came from: default, file, env or secret file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-origins-'));
    const secretPath = join(dir, 'secret');
    writeFileSync(secretPath, 'file-secret-1');
    const file = join(dir, 'herald.yaml');
    writeFileSync(file, `server:\n  port: 7200\napps:\n  - id: a\n    key: k\n    secretFile: ${secretPath}\n`);
    const { origins } = loadConfigWithOrigins({ file, env: { HERALD_LOG_LEVEL: 'debug' } });
    assert.equal(origins.get('server.port'), `file ${file}`);
    assert.equal(origins.get('server.host'), 'default');
    assert.equal(origins.get('log.level'), 'env HERALD_LOG_LEVEL');
    assert.equal(origins.get('apps[0].id'), `file ${file}`);
    assert.equal(origins.get('apps[0].secret'), `secret file ${secretPath}`);
    assert.equal(origins.get('apps[0].enabled'), 'default');
  });
});
