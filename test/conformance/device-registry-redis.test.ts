import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { RedisDeviceRegistry } from '../../src/devices/redis-device-registry.js';
import { silentLogger } from '../../src/log/logger.js';
import type { RedisConfig } from '../../src/redis/redis-client.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import type { TestRedisCluster } from '../helpers/redis-cluster.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { deviceRegistryConformance } from './device-registry.js';

let redis: TestRedis;
let cluster: TestRedisCluster;
let made: Array<{ connections: RedisConnections; registry: RedisDeviceRegistry }> = [];

before(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster(3)]);
});

after(async () => {
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

/** `count` registries on one store, each through its own connection, as `count` processes would be. */
async function registries(config: (keyPrefix: string) => RedisConfig, count: number): Promise<RedisDeviceRegistry[]> {
  const keyPrefix = `conf-${randomUUID()}`;
  for (let i = 0; i < count; i += 1) {
    const connections = new RedisConnections({ config: config(keyPrefix), log: silentLogger() });
    const registry = new RedisDeviceRegistry(connections.create('devices'), keyPrefix);
    await connections.start();
    await registry.start();
    made.push({ connections, registry });
  }
  return made.map((m) => m.registry);
}

async function cleanup(): Promise<void> {
  for (const { registry, connections } of made) {
    await registry.stop();
    await connections.stop(AbortSignal.timeout(2_000));
  }
  made = [];
}

describe('single Redis', () => {
  deviceRegistryConformance({
    name: 'RedisDeviceRegistry (single Redis)',
    create: (count) => registries((keyPrefix) => ({ url: redis.url, mode: 'single', sentinels: [], clusterNodes: [], keyPrefix }), count),
    cleanup,
  });
});

describe('3-master Redis Cluster', () => {
  deviceRegistryConformance({
    name: 'RedisDeviceRegistry (Redis Cluster)',
    create: (count) => registries((keyPrefix) => ({ mode: 'cluster', clusterNodes: [...cluster.nodes], sentinels: [], keyPrefix }), count),
    cleanup,
  });
});
