import { after, before } from 'node:test';
import { RedisDeadLetterStore } from '../../src/webhooks/redis-dead-letter-store.js';
import { deadlineAfter } from '../../src/lib/deadline.js';
import { silentLogger } from '../../src/log/logger.js';
import { BullmqQueueDriver } from '../../src/queue/bullmq-queue-driver.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { webhookSuite } from './webhooks-suite.js';

let redis: TestRedis;
// The daemon's connection factory, which also closes every connection before redis-server goes away.
let connections: RedisConnections;

before(async () => {
  redis = await startRedis();
  connections = new RedisConnections({ config: { url: redis.url, mode: 'single', sentinels: [], clusterNodes: [], keyPrefix: 'herald' }, log: silentLogger() });
});

after(async () => {
  await connections.stop(deadlineAfter(5_000));
  await redis.stop();
});

webhookSuite({
  name: 'BullMQ',
  // Each test gets its own prefix, so queues and dead-letter lists never mix.
  queue: (settings, prefix) => new BullmqQueueDriver({ ...settings, prefix, connect: connections.connector(prefix) }),
  deadLetters: (prefix) => new RedisDeadLetterStore(connections.create(`${prefix}-dead-letters`), prefix),
});
