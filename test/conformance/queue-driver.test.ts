import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { Queue } from 'bullmq';
import { deadlineAfter } from '../../src/lib/deadline.js';
import { silentLogger } from '../../src/log/logger.js';
import { BullmqQueueDriver } from '../../src/queue/bullmq-queue-driver.js';
import { MemoryQueueDriver } from '../../src/queue/memory-queue-driver.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { queueDriverConformance } from './queue-driver.js';
import type { Payload } from './queue-driver.js';

queueDriverConformance('memory', async (settings) => {
  const driver = new MemoryQueueDriver<Payload>(settings);
  return {
    driver,
    // Nothing else can reach an in-process queue; a cast stands in for a foreign producer.
    addForeign: async (id, data) => {
      await driver.enqueue(id, data as Payload);
    },
  };
});

let redis: TestRedis;
// The daemon's connection factory: the driver is tested on the connections it gets in production.
let connections: RedisConnections;
before(async () => {
  redis = await startRedis();
  connections = new RedisConnections({ config: { url: redis.url, mode: 'single', sentinels: [], clusterNodes: [], keyPrefix: 'herald' }, log: silentLogger() });
});
after(async () => {
  await connections.stop(deadlineAfter(5_000));
  await redis.stop();
});

queueDriverConformance('bullmq', async (settings) => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const driver = new BullmqQueueDriver<Payload>({ ...settings, connect: connections.connector(prefix), prefix, lockDurationMs: 5_000 });
  return {
    driver,
    addForeign: async (id, data) => {
      const foreign = new Queue(settings.name, { connection: { url: redis.url }, prefix });
      await foreign.add(settings.jobName, data, { jobId: id });
      await foreign.close();
    },
  };
});
