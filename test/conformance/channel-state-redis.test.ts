import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { RedisChannelState } from '../../src/gateway/state/redis/redis-channel-state.js';
import { silentLogger } from '../../src/log/logger.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { channelStateConformance } from './channel-state-suite.js';

let redis: TestRedis;
let made: Array<{ state: RedisChannelState; connections: RedisConnections }> = [];

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await redis?.stop();
});

// Each "node" is a RedisChannelState with its own connection and node id on one Redis.
channelStateConformance({
  name: 'RedisChannelState (single Redis)',
  async createNodes(count) {
    const keyPrefix = `conf-${randomUUID()}`;
    const log = silentLogger();
    made = Array.from({ length: count }, (_, i) => {
      const connections = new RedisConnections({ config: { url: redis.url, mode: 'single', sentinels: [], clusterNodes: [], keyPrefix }, log });
      const state = new RedisChannelState({ client: connections.create('state'), keyPrefix, nodeId: `node-${i}-${randomUUID()}`, nodeTimeoutSeconds: 20, log });
      return { state, connections };
    });
    for (const node of made) {
      await node.connections.start();
      await node.state.start();
    }
    return made.map((node) => node.state);
  },
  async cleanup() {
    for (const node of made) {
      await node.state.stop(AbortSignal.timeout(2_000));
      await node.connections.stop(AbortSignal.timeout(2_000));
    }
    made = [];
  },
});
