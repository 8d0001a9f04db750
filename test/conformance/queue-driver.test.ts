import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { Queue } from 'bullmq';
import { BullmqQueueDriver } from '../../src/queue/bullmq-queue-driver.js';
import { MemoryQueueDriver } from '../../src/queue/memory-queue-driver.js';
import { redisConnector } from '../../src/queue/redis-connection.js';
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
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

queueDriverConformance('bullmq', async (settings) => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const driver = new BullmqQueueDriver<Payload>({ ...settings, connect: redisConnector(redis.url), prefix, lockDurationMs: 5_000 });
  return {
    driver,
    addForeign: async (id, data) => {
      const foreign = new Queue(settings.name, { connection: { url: redis.url }, prefix });
      await foreign.add(settings.jobName, data, { jobId: id });
      await foreign.close();
    },
  };
});
