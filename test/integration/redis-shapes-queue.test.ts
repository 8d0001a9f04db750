import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { redactUrl } from '../../src/config/redact.js';
import { signQuery } from '../../src/lib/pusher-signing.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { freePort } from '../helpers/free-port.js';
import { runCli, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { RawClient } from '../helpers/pusher-clients.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import type { TestRedisCluster } from '../helpers/redis-cluster.js';
import { startRedisSentinel } from '../helpers/redis-sentinel.js';
import type { TestRedisSentinel } from '../helpers/redis-sentinel.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The queue side (notification queues, status store, webhook queue and dead letters,
 * the dead-letters CLI) used to connect through `redis.url` alone: on Sentinel or a
 * Cluster it ignored the configured shape, and without a url fell back to memory.
 * Here a daemon runs on each shape with no `redis.url` at all.
 */
const app = { id: 'shape-app', key: 'shape-key', secret: 'shape-secret-0001' };

interface Shape {
  redis: Record<string, unknown>;
  prefix: string;
}

async function signedCall(herald: HeraldProcess, method: 'GET' | 'POST', path: string, body?: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const raw = body === undefined ? undefined : JSON.stringify(body);
  const fullPath = `/apps/${app.id}${path}`;
  const query = new URLSearchParams(signQuery(app, method, fullPath, raw));
  const response = await fetch(`${herald.baseUrl}${fullPath}?${query.toString()}`, {
    method,
    ...(raw === undefined ? {} : { body: raw, headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the queue side follows redis.mode (it connected through redis.url only)', () => {
  let credentials: TestCredentials;
  let mock: ApnsMock;
  /** Nothing listens here: every webhook attempt fails, so a batch becomes a dead letter after its one attempt. */
  let deadWebhookUrl: string;
  const daemons: HeraldProcess[] = [];

  before(async () => {
    credentials = await testCredentials();
    mock = await ApnsMock.start({ credentials, auth: 'certificate' });
    deadWebhookUrl = `http://127.0.0.1:${await freePort()}/hook`;
  });

  after(async () => {
    await Promise.all(daemons.map((daemon) => daemon.stop()));
    await mock.close();
  });

  function daemonConfig(shape: Shape): Record<string, unknown> {
    return {
      redis: { ...shape.redis, keyPrefix: `k${randomUUID().slice(0, 6)}` },
      queue: { prefix: shape.prefix, chunkSize: 50, lockDurationMs: 2_000 },
      webhooks: { batchMs: 10, maxAttempts: 1, backoffBaseMs: 10, backoffMaxMs: 20 },
      apps: [
        {
          ...app,
          webhooks: [{ url: deadWebhookUrl, events: ['channel_occupied'] }],
          apns: {
            topic: 'com.example.app',
            cert: credentials.clientCertPath,
            key: credentials.clientKeyPath,
            endpoint: { host: mock.host, port: mock.port, ca: credentials.caCertPath },
          },
        },
      ],
    };
  }

  /** Delivers a notification through the daemon's queue, makes a dead letter, and lists it with the CLI. */
  async function exercise(shape: Shape): Promise<void> {
    const config = daemonConfig(shape);
    const herald = await startHeraldProcess({ config });
    daemons.push(herald);
    const listening = herald.logs().find((line) => line.msg === 'listening');
    assert.equal(listening?.mode, 'redis', 'Redis mode although redis.url is not set');

    const token = randomBytes(32).toString('hex');
    const accepted = await signedCall(herald, 'POST', '/notifications', { v: 1, app: app.id, apns: { tokens: [token], payload: { aps: { alert: 'shape' } } } });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const id = String(accepted.body.id);
    const finished = await waitFor(
      async () => {
        const status = await signedCall(herald, 'GET', `/notifications/${id}`);
        return status.body.state === 'completed' || status.body.state === 'failed' ? status.body : undefined;
      },
      { what: `notification ${id} finished`, timeoutMs: 20_000, intervalMs: 50 },
    );
    assert.equal(finished.state, 'completed');
    assert.deepEqual(mock.accepted().filter((request) => request.token === token).length, 1, 'the device got it once');

    // channel_occupied → a webhook batch whose one attempt fails → a dead letter, kept in this Redis.
    const { client } = await RawClient.connect(herald.httpPort, app.key);
    try {
      client.send({ event: 'pusher:subscribe', data: { channel: `alerts-${randomUUID().slice(0, 6)}` } });
      await client.next((frame) => frame.event === 'pusher_internal:subscription_succeeded');
    } finally {
      await client.close();
    }
    const dir = mkdtempSync(join(tmpdir(), 'herald-shapes-'));
    const configFile = join(dir, 'herald.yaml');
    writeFileSync(configFile, stringify(config));
    const listed = await waitFor(
      async () => {
        const run = await runCli(['webhooks', 'dead-letters', '--config', configFile, '--json']);
        assert.equal(run.code, 0, run.stderr);
        const apps = JSON.parse(run.stdout) as Array<{ app: string; deadLetters: Array<{ url: string; events: string[] }> }>;
        return apps[0]?.deadLetters.length === 1 ? apps[0].deadLetters[0] : undefined;
      },
      { what: 'the dead letter, read by the CLI from this Redis', timeoutMs: 20_000, intervalMs: 200 },
    );
    // Shown redacted (a hook's path and query may hold its secret), never whole.
    assert.equal(listed.url, redactUrl(deadWebhookUrl));
    assert.deepEqual(listed.events, ['channel_occupied']);
  }

  describe('on a 3-master Redis Cluster', () => {
    let cluster: TestRedisCluster;
    before(async () => {
      cluster = await startRedisCluster(3);
    });
    after(async () => {
      await Promise.all(daemons.splice(0).map((daemon) => daemon.stop()));
      await cluster.stop();
    });

    it('delivers a notification queued over HTTP and keeps webhook dead letters there, with queue.prefix {herald}', async () => {
      await exercise({ redis: { mode: 'cluster', clusterNodes: cluster.nodes }, prefix: '{herald}' });
    });

    it('refuses to start with a queue.prefix that has no hash tag', async () => {
      await assert.rejects(
        startHeraldProcess({ config: daemonConfig({ redis: { mode: 'cluster', clusterNodes: cluster.nodes }, prefix: 'herald' }) }),
        /queue\.prefix[\s\S]*hash tag/,
      );
    });
  });

  describe('behind Redis Sentinel', () => {
    let sentinel: TestRedisSentinel;
    before(async () => {
      sentinel = await startRedisSentinel();
    });
    after(async () => {
      await Promise.all(daemons.splice(0).map((daemon) => daemon.stop()));
      await sentinel.stop();
    });

    it('delivers a notification queued over HTTP and keeps webhook dead letters there', async () => {
      await exercise({ redis: { mode: 'sentinel', sentinels: [sentinel.sentinel], sentinelName: sentinel.masterName }, prefix: `s${randomUUID().slice(0, 6)}` });
    });
  });
});
