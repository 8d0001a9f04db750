import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { DeadLetterLimits, DeadLetterStore } from '../../src/webhooks/dead-letter-store.js';
import { MemoryDeadLetterStore } from '../../src/webhooks/memory-dead-letter-store.js';
import { RedisDeadLetterStore, deadLetterKey } from '../../src/webhooks/redis-dead-letter-store.js';
import type { DeadLetter } from '../../src/webhooks/webhook-job.js';
import { deadlineAfter } from '../../src/lib/deadline.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';

// The dead-letter list was capped by count only (10,000), and one batch body can be
// megabytes: a dead receiver could pin gigabytes. Both stores now cap bytes too.

function letter(id: string, bodyBytes: number): DeadLetter {
  const body = JSON.stringify({ time_ms: 1, events: [{ name: 'client_event', data: 'x'.repeat(bodyBytes) }] });
  return {
    id,
    attempts: 8,
    lastError: 'HTTP 502',
    failedAt: 1,
    job: { v: 1, app: 'a', url: 'http://127.0.0.1:1/hook', body, key: 'k', signature: 'ab'.repeat(32), createdAt: 1, events: ['client_event'] },
  };
}

const bytesOf = (entry: DeadLetter): number => Buffer.byteLength(JSON.stringify(entry));

let redis: TestRedis;
const clients: Redis[] = [];
let prefixes = 0;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const client of clients) client.disconnect();
  await redis.stop();
});

const stores: Array<{ name: string; create: (limits: DeadLetterLimits) => Promise<DeadLetterStore> }> = [
  { name: 'memory', create: async (limits) => new MemoryDeadLetterStore(limits) },
  {
    name: 'redis',
    create: async (limits) => {
      const client = new Redis(redis.url);
      clients.push(client);
      const store = new RedisDeadLetterStore(client, `dl-bytes-${(prefixes += 1)}`, limits);
      await store.start();
      return store;
    },
  },
];

for (const { name, create } of stores) {
  describe(`dead-letter list within bytes (${name})`, () => {
    it('drops the oldest entries once the stored JSON passes maxBytes, and says they went for bytes', async () => {
      const size = bytesOf(letter('x-0', 10_000));
      const store = await create({ maxEntries: 10_000, maxBytes: size * 3 + 10 });
      for (const id of ['x-0', 'x-1', 'x-2']) assert.deepEqual(await store.add(letter(id, 10_000)), { dropped: 0, droppedForBytes: 0 });
      assert.deepEqual(await store.add(letter('x-3', 10_000)), { dropped: 1, droppedForBytes: 1 });
      assert.deepEqual((await store.list()).map((e) => e.id), ['x-1', 'x-2', 'x-3']);
      // A large one pushes out as many old ones as it needs.
      assert.deepEqual(await store.add(letter('big', 20_000)), { dropped: 2, droppedForBytes: 2 });
      assert.deepEqual((await store.list()).map((e) => e.id), ['x-3', 'big']);
      // Taking entries frees their bytes: three small ones fit again after the big one is taken.
      assert.deepEqual((await store.take({ ids: ['big'] })).map((e) => e.id), ['big']);
      for (const id of ['y-0', 'y-1']) assert.deepEqual(await store.add(letter(id, 10_000)), { dropped: 0, droppedForBytes: 0 });
      assert.equal(await store.size(), 3);
      // An entry over the cap on its own is not kept, and takes the older ones with it.
      assert.deepEqual(await store.add(letter('huge', 50_000)), { dropped: 4, droppedForBytes: 4 });
      assert.equal(await store.size(), 0);
      await store.stop(deadlineAfter(1_000));
    });

    it('still caps the count, counted apart from bytes', async () => {
      const store = await create({ maxEntries: 2, maxBytes: 1024 * 1024 });
      for (const id of ['a', 'b']) await store.add(letter(id, 10));
      assert.deepEqual(await store.add(letter('c', 10)), { dropped: 1, droppedForBytes: 0 });
      assert.deepEqual((await store.list()).map((e) => e.id), ['b', 'c']);
      await store.stop(deadlineAfter(1_000));
    });
  });
}

describe('dead-letter list within bytes (redis, a list an older version wrote)', () => {
  it('counts the bytes of entries it finds without a running total', async () => {
    const client = new Redis(redis.url);
    clients.push(client);
    const prefix = 'dl-bytes-legacy';
    const old = letter('old', 10_000);
    await client.rpush(deadLetterKey(prefix), JSON.stringify(old), JSON.stringify(letter('old-2', 10_000)));
    const store = new RedisDeadLetterStore(client, prefix, { maxEntries: 100, maxBytes: bytesOf(old) * 2 + 10 });
    await store.start();
    assert.deepEqual(await store.add(letter('new', 10_000)), { dropped: 1, droppedForBytes: 1 });
    assert.deepEqual((await store.list()).map((e) => e.id), ['old-2', 'new']);
  });
});
