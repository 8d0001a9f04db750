import { Redis } from 'ioredis';
import type { RedisConnect } from './bullmq-queue-driver.js';

/**
 * Connections for the queue from a redis:// URL. Command connections fail a command
 * after a few reconnection attempts (an HTTP enqueue should answer, not hang);
 * blocking ones wait for Redis to come back, as BullMQ's workers require.
 */
export function redisConnector(url: string): RedisConnect {
  return (purpose) =>
    purpose === 'blocking'
      ? new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false })
      : new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: false });
}
