import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import type { Adapter } from '../../src/gateway/adapter/adapter.js';
import { RedisAdapter } from '../../src/gateway/adapter/redis-adapter.js';
import type { PubSubMode } from '../../src/gateway/adapter/redis-adapter.js';
import type { ChannelCache } from '../../src/gateway/state/channel-cache.js';
import { RedisChannelCache } from '../../src/gateway/state/redis/redis-channel-cache.js';
import { RedisChannelState } from '../../src/gateway/state/redis/redis-channel-state.js';
import { silentLogger } from '../../src/log/logger.js';
import type { RedisConfig } from '../../src/redis/redis-client.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import type { TestRedisCluster } from '../helpers/redis-cluster.js';
import { adapterConformance } from './adapter-suite.js';
import { channelCacheConformance } from './channel-state-cache-suite.js';
import { channelStateConformance } from './channel-state-suite.js';

// The same suites as on a single Redis, against a real 3-master Redis Cluster.
let cluster: TestRedisCluster;
let open: Array<{ stop(deadline: AbortSignal): Promise<void> }> = [];

before(async () => {
  cluster = await startRedisCluster(3);
});

after(async () => {
  await cluster?.stop();
});

function connections(keyPrefix: string): RedisConnections {
  const config: RedisConfig = { mode: 'cluster', clusterNodes: [...cluster.nodes], sentinels: [], keyPrefix };
  return new RedisConnections({ config, log: silentLogger() });
}

/** Stops services first, then their connections (in the order they were opened). */
async function closeAll(): Promise<void> {
  for (const service of open) await service.stop(AbortSignal.timeout(2_000));
  open = [];
}

async function adapters(count: number, pubsub: PubSubMode | undefined): Promise<Adapter[]> {
  const keyPrefix = `conf-${randomUUID()}`;
  const made: RedisAdapter[] = [];
  const conns: RedisConnections[] = [];
  for (let i = 0; i < count; i += 1) {
    const c = connections(keyPrefix);
    const options = { publisher: c.create('pub'), subscriber: c.create('sub', 'subscriber'), keyPrefix, nodeId: `node-${i}`, log: silentLogger() };
    made.push(new RedisAdapter(pubsub ? { ...options, pubsub } : options));
    conns.push(c);
  }
  for (const c of conns) await c.start();
  for (const adapter of made) await adapter.start();
  open = [...made, ...conns];
  return made;
}

it('chooses sharded pub/sub on a Redis 7 Cluster', async () => {
  const [adapter] = await adapters(1, undefined);
  assert.equal((adapter as RedisAdapter).pubsub, 'sharded');
  await closeAll();
});

adapterConformance({ name: 'RedisAdapter (3-master Cluster, sharded pub/sub)', createNodes: (count) => adapters(count, 'sharded'), cleanup: closeAll });
adapterConformance({ name: 'RedisAdapter (3-master Cluster, regular pub/sub)', createNodes: (count) => adapters(count, 'regular'), cleanup: closeAll });

channelStateConformance({
  name: 'RedisChannelState (3-master Cluster)',
  async createNodes(count) {
    const keyPrefix = `conf-${randomUUID()}`;
    const pairs = Array.from({ length: count }, (_, i) => {
      const c = connections(keyPrefix);
      return { c, state: new RedisChannelState({ client: c.create('state'), keyPrefix, nodeId: `node-${i}-${randomUUID()}`, nodeTimeoutSeconds: 20, log: silentLogger() }) };
    });
    for (const { c } of pairs) await c.start();
    for (const { state } of pairs) await state.start();
    open = [...pairs.map((p) => p.state), ...pairs.map((p) => p.c)];
    return pairs.map((p) => p.state);
  },
  cleanup: closeAll,
});

channelCacheConformance({
  name: 'RedisChannelCache (3-master Cluster)',
  async createNodes(count) {
    const keyPrefix = `conf-${randomUUID()}`;
    const conns = Array.from({ length: count }, () => connections(keyPrefix));
    const caches: ChannelCache[] = conns.map((c) => new RedisChannelCache({ client: c.create('cache'), keyPrefix }));
    for (const c of conns) await c.start();
    open = conns;
    return caches;
  },
  cleanup: closeAll,
});
