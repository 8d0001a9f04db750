import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryStatusStore } from '../../src/notifications/status/memory-status-store.js';
import { RedisStatusStore } from '../../src/notifications/status/redis-status-store.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { statusStoreConformance } from './notification-status-store.js';

statusStoreConformance('memory', async (retention) => new MemoryStatusStore(retention));

let redis: TestRedis;
const clients: Redis[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const client of clients) client.disconnect();
  await redis.stop();
});

statusStoreConformance('redis', async (retention) => {
  const client = new Redis(redis.url);
  clients.push(client);
  return new RedisStatusStore(client, { keyPrefix: `t${randomUUID().slice(0, 8)}`, queuePrefix: '{herald}', partitions: 3 }, retention);
});

describe('RedisStatusStore: the batch as one JSON argument', () => {
  it('keeps non-ASCII text, and makes a lone surrogate in an argument U+FFFD (as a Redis argument would) without failing the ops batched with it', async () => {
    const client = new Redis(redis.url);
    clients.push(client);
    const store = new RedisStatusStore(client, { keyPrefix: `t${randomUUID().slice(0, 8)}`, queuePrefix: '{herald}', partitions: 1 }, 60);
    const plan = (id: string) => ({ app: 'app-a', id, createdAt: 1_700_000_000_000, tokens: 2, chunks: 1 });
    await store.create(plan('surrogates'));
    const token = 'fcm-\ud800-é-\u{1F600}';
    // Made in the same turn, so the ops share one call of the batch script.
    const [, created] = await Promise.all([
      store.record(plan('surrogates'), [
        { index: 0, kind: 'failed', reason: 'Refusé-\udfff', invalid: { token, reason: 'Unregistered' } },
        { index: 1, kind: 'failed', reason: 'Refusé-\u{1F600}' },
      ]),
      store.create(plan('beside-it')),
    ]);
    assert.equal(created.created, true);
    const status = await store.get(plan('surrogates'));
    assert.deepEqual(status?.apns.failures, { 'Refusé-\ufffd': 1, 'Refusé-\u{1F600}': 1 });
    // An invalid token travels as JSON of its own inside its argument: it comes back as it was.
    assert.deepEqual(status?.apns.invalidTokens, [{ token, reason: 'Unregistered' }]);
  });
});
