import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import type { Cluster } from 'ioredis';
import { RedisDeadLetterStore } from '../../src/delivery/webhooks/redis-dead-letter-store.js';
import { BullmqQueueDriver } from '../../src/queue/bullmq-queue-driver.js';
import { redisConnector } from '../../src/queue/redis-connection.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { webhookSuite } from './webhooks-suite.js';

let redis: TestRedis;
const connections: Array<Redis | Cluster> = [];

before(async () => {
  redis = await startRedis();
});

after(async () => {
  for (const connection of connections) connection.disconnect();
  await redis.stop();
});

webhookSuite({
  name: 'BullMQ',
  // Each test gets its own prefix, so queues and dead-letter lists never mix.
  queue: (settings, prefix) => {
    const connect = redisConnector(redis.url);
    return new BullmqQueueDriver({
      ...settings,
      prefix,
      // Tracked so every connection is closed before redis-server goes away.
      connect: (purpose) => {
        const connection = connect(purpose);
        connections.push(connection);
        return connection;
      },
    });
  },
  deadLetters: (prefix) => {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: 3 });
    connections.push(connection);
    return new RedisDeadLetterStore(connection, prefix);
  },
});
