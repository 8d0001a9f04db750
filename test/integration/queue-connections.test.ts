import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { deadlineAfter } from '../../src/lib/deadline.js';
import { silentLogger } from '../../src/log/logger.js';
import { BullmqQueueDriver } from '../../src/queue/bullmq-queue-driver.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';

/** `cmdstat_<name>:calls=N` of INFO commandstats (0 when the command never ran). */
async function calls(admin: Redis, command: string): Promise<number> {
  const info = await admin.info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

/**
 * How BullMQ reaches Redis in the daemon: its command connections do not auto-pipeline
 * (ioredis copies BullMQ's ~60 scripts into every pipeline it makes), and an envelope
 * under a freshly made id costs one write, with no look for an existing job first.
 */
describe('the queue driver on the daemon connections', () => {
  let redis: TestRedis;
  let admin: Redis;
  let connections: RedisConnections;
  let driver: BullmqQueueDriver<{ n: number }>;

  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    connections = new RedisConnections({ config: { url: redis.url, mode: 'single', sentinels: [], clusterNodes: [], keyPrefix: 'herald' }, log: silentLogger() });
    const prefix = `q${randomUUID().slice(0, 8)}`;
    driver = new BullmqQueueDriver<{ n: number }>({
      name: 'conn-test',
      jobName: 'work',
      parse: (data) => ({ ok: true, value: data as { n: number } }),
      maxJobAttempts: 3,
      backoff: () => 10,
      connect: connections.connector(prefix),
      prefix,
    });
    await driver.start();
  });

  after(async () => {
    await driver.stop(deadlineAfter(5_000));
    await connections.stop(deadlineAfter(5_000));
    admin.disconnect();
    await redis.stop();
  });

  it('gives BullMQ command connections without auto-pipelining, and keeps it on other command connections', () => {
    const queueConnection = connections.connector('probe')('commands') as Redis;
    const other = connections.create('probe-commands') as Redis;
    assert.equal(queueConnection.options.enableAutoPipelining, false);
    assert.equal(queueConnection.options.enableOfflineQueue, false, 'fails at once while Redis is away, like every command connection');
    assert.equal(other.options.enableAutoPipelining, true);
  });

  it('looks for an existing job before an ordinary enqueue, and not before one under a fresh id', async () => {
    // BullMQ's add script looks too (EXISTS inside Lua counts as well): the driver's own look is the difference.
    const atStart = await calls(admin, 'exists');
    assert.deepEqual(await driver.enqueue('ordinary', { n: 1 }), { id: 'ordinary', duplicate: false });
    const afterOrdinary = await calls(admin, 'exists');
    assert.deepEqual(await driver.enqueue('fresh', { n: 2 }, { freshId: true }), { id: 'fresh', duplicate: false });
    const afterFresh = await calls(admin, 'exists');
    assert.equal(afterOrdinary - atStart, afterFresh - afterOrdinary + 1);
    assert.equal(await driver.state('fresh'), 'waiting');
  });
});
