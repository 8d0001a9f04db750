import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HeraldClient } from '../../src/client/index.js';
import { createRedisClient } from '../../src/redis/redis-client.js';
import type { RedisClient } from '../../src/redis/redis-client.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * During Redis outages the daemon printed "[ioredis] Unhandled error event" (the
 * status store's and dead-letter store's connections had no 'error' listener) and
 * logged every failed reconnect of its queues at error level. Every connection now
 * has a listener, and an outage is logged once.
 */
const app = { id: 'quiet-app', key: 'quiet-key', secret: 'quiet-secret-0001' };
const OUTAGES = 2;

describe('Redis outages under a running daemon (ioredis printed "Unhandled error event")', () => {
  let redis: TestRedis;
  let herald: HeraldProcess;
  let producer: HeraldClient;
  /** A connection of the test with the daemon's reconnect policy: its failed attempts pace the outage. */
  let probe: RedisClient;
  let probeErrors = 0;
  /** What ioredis printed in this process (where herald/client runs). */
  const printed: string[] = [];
  const consoleError = console.error;

  before(async () => {
    console.error = (...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
      consoleError(...args);
    };
    redis = await startRedis();
    const prefix = `q${randomUUID().slice(0, 6)}`;
    herald = await startHeraldProcess({
      config: {
        redis: { url: redis.url },
        queue: { prefix },
        webhooks: { batchMs: 10 },
        apps: [{ ...app, webhooks: [{ url: 'http://127.0.0.1:9/hook', events: ['channel_occupied'] }] }],
      },
    });
    producer = new HeraldClient({ redis: redis.url, prefix, app: app.id });
    await producer.notify({ realtime: { channels: ['warm-up'], event: 'e', data: 1 } });
    probe = createRedisClient({ url: redis.url, mode: 'single', sentinels: [], clusterNodes: [], keyPrefix: 'probe' }, 'commands', 'probe', {
      onError: () => {
        probeErrors += 1;
      },
    });
  });

  after(async () => {
    console.error = consoleError;
    probe.disconnect();
    await producer.close();
    await herald.stop();
    await redis.stop();
  });

  it('prints no "Unhandled error event", and logs each outage once rather than once per reconnect attempt', async () => {
    for (let outage = 1; outage <= OUTAGES; outage += 1) {
      await waitFor(() => probe.status === 'ready', { what: 'the probe connected' });
      await redis.kill();
      probeErrors = 0;
      // Several failed reconnects of every connection, each of which used to print a line.
      await waitFor(() => probeErrors >= 4, { what: 'failed reconnect attempts', timeoutMs: 15_000 });
      await waitFor(async () => (await fetch(`${herald.baseUrl}/ready`)).status === 503, { what: 'the daemon not ready' });
      await assert.rejects(producer.status('anything'), { code: 'unavailable' });
      await redis.restart();
      await waitFor(() => herald.logs().filter((line) => line.msg === 'redis reconnected').length === outage, { what: `the daemon back after outage ${outage}`, timeoutMs: 15_000 });
    }
    // The producer's own connection reconnects on its own schedule, after the daemon's.
    await waitFor(async () => ((await producer.status('anything')) ?? 'unknown') === 'unknown', { what: 'the producer working again', timeoutMs: 15_000 });

    const unhandled = [...herald.lines, ...printed].filter((line) => line.includes('Unhandled error event'));
    assert.deepEqual(unhandled, []);
    const count = (msg: string): number => herald.logs().filter((line) => line.msg === msg).length;
    assert.equal(count('redis connection lost'), OUTAGES);
    assert.equal(count('redis unreachable; retrying quietly until it answers'), OUTAGES);
    const refused = herald.lines.filter((line) => line.includes('ECONNREFUSED'));
    assert.ok(refused.length <= OUTAGES, `connection errors are logged once per outage, not per attempt:\n${refused.join('\n')}`);
  });
});
