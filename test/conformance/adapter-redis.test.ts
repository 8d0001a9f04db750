import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import type { Adapter } from '../../src/gateway/adapter/adapter.js';
import { RedisAdapter } from '../../src/gateway/adapter/redis-adapter.js';
import { silentLogger } from '../../src/log/logger.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { adapterConformance } from './adapter-suite.js';

let redis: TestRedis;
let made: Array<{ adapter: Adapter; connections: RedisConnections }> = [];

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await redis?.stop();
});

// Every node has its own two connections, as separate processes would; a fresh key prefix per test is a fresh cluster.
adapterConformance({
  name: 'RedisAdapter (single Redis, regular pub/sub)',
  async createNodes(count) {
    const keyPrefix = `conf-${randomUUID()}`;
    const log = silentLogger();
    made = Array.from({ length: count }, (_, i) => {
      const connections = new RedisConnections({ config: { url: redis.url, mode: 'single', sentinels: [], clusterNodes: [], keyPrefix }, log });
      const adapter = new RedisAdapter({
        publisher: connections.create('adapter-pub'),
        subscriber: connections.create('adapter-sub', 'subscriber'),
        keyPrefix,
        nodeId: `node-${i}`,
        log,
      });
      return { adapter, connections };
    });
    for (const node of made) {
      await node.connections.start();
      await node.adapter.start();
    }
    return made.map((node) => node.adapter);
  },
  async cleanup() {
    for (const node of made) {
      await node.adapter.stop(AbortSignal.timeout(2_000));
      await node.connections.stop(AbortSignal.timeout(2_000));
    }
    made = [];
  },
});
