import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { RedisChannelCache } from '../../src/gateway/state/redis/redis-channel-cache.js';
import { silentLogger } from '../../src/log/logger.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { channelCacheConformance } from './channel-state-cache-suite.js';

let redis: TestRedis;
let made: RedisConnections[] = [];

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await redis?.stop();
});

// Each "node" reads and writes through its own connection.
channelCacheConformance({
  name: 'RedisChannelCache (single Redis)',
  async createNodes(count) {
    const keyPrefix = `conf-${randomUUID()}`;
    made = Array.from({ length: count }, () => new RedisConnections({ config: { url: redis.url, mode: 'single', sentinels: [], clusterNodes: [], keyPrefix }, log: silentLogger() }));
    const caches = made.map((connections) => new RedisChannelCache({ client: connections.create('cache'), keyPrefix }));
    for (const connections of made) await connections.start();
    return caches;
  },
  async cleanup() {
    for (const connections of made) await connections.stop(AbortSignal.timeout(2_000));
    made = [];
  },
});
