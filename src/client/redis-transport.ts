import { Cluster, Redis } from 'ioredis';
import { NOTIFY_JOB, NOTIFY_QUEUE } from '../delivery/chunk-job.js';
import { RedisStatusStore } from '../delivery/redis-status-store.js';
import type { NotificationStatus as StoredStatus } from '../delivery/status-store.js';
import type { Notification } from '../notification/notification-schema.js';
import { parseNotification } from '../notification/parse-notification.js';
import { BullmqQueueDriver } from '../queue/bullmq-queue-driver.js';
import { HeraldClientError } from './client-error.js';
import type { Transport } from './transport.js';
import type { NotificationStatus, NotifyResult } from './types.js';

export interface RedisTransportOptions {
  /** A redis:// URL (the client opens and closes its connection) or a connection of yours (left open). */
  redis: string | Redis | Cluster;
  /** Herald's `queue.prefix`; default `herald`. */
  prefix?: string;
  /** Herald's `redis.keyPrefix`, under which notification status lives; default `herald`. */
  keyPrefix?: string;
  app: string;
}

/** Status records expire with the daemon's retention; this client only reads them. */
const UNUSED_RETENTION = 1;

/**
 * Adds `notify` jobs to the `notifications` BullMQ queue straight in Redis, as the
 * contract lets any producer do, after the same validation the HTTP API applies to
 * the body (the app's own checks, such as its APNs credentials, run in the worker).
 */
export class RedisTransport implements Transport {
  private readonly connection: Redis | Cluster;
  private readonly ownsConnection: boolean;
  private readonly queue: BullmqQueueDriver<Notification>;
  private readonly store: RedisStatusStore;
  private readonly prefix: string;
  private ready: Promise<void> | undefined;

  constructor(private readonly options: RedisTransportOptions) {
    this.ownsConnection = typeof options.redis === 'string';
    if (typeof options.redis === 'string') {
      this.connection = new Redis(options.redis, { maxRetriesPerRequest: 3, lazyConnect: true });
      // Failures reach the caller as rejected calls; ioredis would otherwise also print each reconnection error.
      this.connection.on('error', () => undefined);
    } else {
      this.connection = options.redis;
    }
    const prefix = options.prefix ?? 'herald';
    this.prefix = prefix;
    this.queue = new BullmqQueueDriver<Notification>({
      name: NOTIFY_QUEUE,
      jobName: NOTIFY_JOB,
      prefix,
      // A producer never consumes: parse, attempts and backoff belong to the daemon's workers.
      parse: (data) => ({ ok: true, value: data as Notification }),
      maxAttempts: 1,
      backoff: () => 0,
      // The queue closes the connection it is given, so it gets its own.
      connect: () => (this.connection instanceof Cluster ? this.connection.duplicate() : this.connection.duplicate()),
    });
    this.store = new RedisStatusStore(this.connection, options.keyPrefix ?? 'herald', UNUSED_RETENTION);
  }

  async notify(notification: Record<string, unknown>): Promise<NotifyResult> {
    const checked = parseNotification(notification);
    if (!checked.ok) throw new HeraldClientError('invalid', checked.error, { path: checked.path });
    await this.connect();
    try {
      return await this.queue.enqueue(checked.notification.id, checked.notification, delayOf(checked.notification));
    } catch (err) {
      throw new HeraldClientError('unavailable', `Redis refused the job: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async status(id: string): Promise<NotificationStatus | undefined> {
    await this.connect();
    let stored: StoredStatus | undefined;
    try {
      stored = await this.store.get(id);
      if (stored) return stored.app === this.options.app ? toContractShape(stored) : undefined;
      // Not picked up by a worker yet: the job exists, the status record does not.
      const state = await this.queue.state(id);
      if (state === 'waiting' || state === 'delayed') return queuedStatus(id, await this.enqueuedAt(id));
      return undefined;
    } catch (err) {
      throw new HeraldClientError('unavailable', `Redis did not answer: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    // Also when never started: the queue opened its connection when it was constructed.
    await this.queue.stop(AbortSignal.timeout(5_000)).catch(() => undefined);
    if (this.ownsConnection) this.connection.disconnect();
  }

  /** BullMQ keeps the time a job was added in its hash. */
  private async enqueuedAt(id: string): Promise<number | undefined> {
    const timestamp = await this.connection.hget(`${this.prefix}:${NOTIFY_QUEUE}:${id}`, 'timestamp');
    return timestamp === null ? undefined : Number(timestamp);
  }

  private connect(): Promise<void> {
    this.ready ??= (async () => {
      if (this.ownsConnection && this.connection.status === 'wait') await this.connection.connect();
      await this.queue.start();
    })().catch((err: unknown) => {
      this.ready = undefined;
      throw new HeraldClientError('unavailable', `cannot reach Redis: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    return this.ready;
  }
}

function delayOf(notification: Notification): { delayMs?: number } {
  if (notification.sendAt === undefined) return {};
  const delayMs = Date.parse(notification.sendAt) - Date.now();
  return delayMs > 0 ? { delayMs } : {};
}

/** The same shape as `GET /apps/{id}/notifications/{nid}` answers. */
function toContractShape(status: StoredStatus): NotificationStatus {
  return {
    id: status.id,
    state: status.state,
    createdAt: new Date(status.createdAt).toISOString(),
    ...(status.finishedAt === undefined ? {} : { finishedAt: new Date(status.finishedAt).toISOString() }),
    attempts: status.attempts,
    apns: status.apns,
    realtime: status.realtime,
    ...(status.error === undefined ? {} : { error: status.error }),
  };
}

function queuedStatus(id: string, enqueuedAt: number | undefined): NotificationStatus {
  return {
    id,
    state: 'queued',
    createdAt: new Date(enqueuedAt ?? Date.now()).toISOString(),
    attempts: 0,
    apns: { sent: 0, failed: 0, pending: 0, invalidTokens: [] },
    realtime: { channels: 0 },
  };
}
