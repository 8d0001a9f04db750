import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
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
