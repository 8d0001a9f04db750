import type { Cluster, Redis } from 'ioredis';
import { NOTIFY_JOB, NOTIFY_QUEUE, notifyJobId } from '../notifications/contract/job-ids.js';
import { statusView } from '../notifications/contract/status-view.js';
import { CANCEL_STATUS_LUA, cancelArgs, parseCancelReply } from '../notifications/contract/cancel-script.js';
import { INVALID_TOKENS_SHOWN, readStatusRecord, statusKey } from '../notifications/contract/status.js';
import type { Notification } from '../notifications/contract/notification-schema.js';
import { parseNotification } from '../notifications/contract/parse-notification.js';
import { BullmqQueueDriver } from '../queue/bullmq-queue-driver.js';
import type { RedisConnect } from '../queue/bullmq-queue-driver.js';
import { createRedisClient } from '../redis/redis-client.js';
import { HeraldClientError } from './client-error.js';
import { checkRedisOptions } from './redis-options.js';
import type { RedisTransportOptions } from './redis-options.js';
import type { Transport } from './transport.js';
import type { CancelResult, NotificationStatus, NotifyResult } from './types.js';

/**
 * Adds `notify` jobs to the `notifications` BullMQ queue straight in Redis, as the
 * contract lets any producer do, after the same validation the HTTP API applies to
 * the body (the app's own checks, such as its APNs credentials, run in the worker).
 * Jobs follow Herald's job-id rule (`n:<app>:<id>`, docs/queue.md), so an id is the
 * app's own and cannot name one of the queue's keys, and a repeat is never queued twice.
 */
export class RedisTransport implements Transport {
  private readonly connection: Redis | Cluster;
  private readonly ownsConnection: boolean;
  private readonly queue: BullmqQueueDriver<Notification>;
  /** Herald's `redis.keyPrefix`: status records live under it. */
  private readonly keyPrefix: string;
  private readonly prefix: string;
  private ready: Promise<void> | undefined;

  constructor(private readonly options: RedisTransportOptions) {
    const checked = checkRedisOptions(options);
    let connect: RedisConnect;
    if ('connection' in checked) {
      const given = checked.connection;
      this.ownsConnection = false;
      this.connection = given;
      // The queue closes the connection it is given, so it gets its own.
      connect = () => quiet(given.isCluster ? (given as Cluster).duplicate() : (given as Redis).duplicate());
    } else {
      this.ownsConnection = true;
      // Failures reach the caller as rejected calls, so reconnection errors are not printed.
      const open = (purpose: 'commands' | 'blocking', name: string): Redis | Cluster => createRedisClient(checked.config, purpose, name, { onError: ignore, lazyConnect: true });
      this.connection = open('commands', 'client');
      connect = (purpose) => open(purpose, 'client-queue');
    }
    const prefix = checked.prefix;
    this.prefix = prefix;
    this.queue = new BullmqQueueDriver<Notification>({
      name: NOTIFY_QUEUE,
      jobName: NOTIFY_JOB,
      prefix,
      // A producer never consumes: parse, attempts and backoff belong to the daemon's workers.
      parse: (data) => ({ ok: true, value: data as Notification }),
      maxJobAttempts: 1,
      backoff: () => 0,
      connect,
    });
    this.keyPrefix = checked.keyPrefix;
  }

  async notify(notification: Record<string, unknown>): Promise<NotifyResult> {
    const checked = parseNotification(notification);
    if (!checked.ok) throw new HeraldClientError('invalid', checked.error, { path: checked.path });
    await this.connect();
    const ref = { app: this.options.app, id: checked.notification.id };
    try {
      // Known to the status store: delivered (or under way) already, and its job may be gone.
      if ((await this.connection.exists(statusKey(this.keyPrefix, ref))) === 1) return { id: ref.id, duplicate: true };
      const queued = await this.queue.enqueue(notifyJobId(ref), checked.notification, delayOf(checked.notification));
      return { id: ref.id, duplicate: queued.duplicate };
    } catch (err) {
      throw new HeraldClientError('unavailable', `Redis refused the job: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async status(id: string): Promise<NotificationStatus | undefined> {
    await this.connect();
    const ref = { app: this.options.app, id };
    try {
      const key = statusKey(this.keyPrefix, ref);
      const [record, invalid] = (await this.connection.multi().hgetall(key).lrange(`${key}:invalid`, 0, INVALID_TOKENS_SHOWN - 1).exec()) ?? [];
      const stored = readStatusRecord(ref, (record?.[1] ?? {}) as Record<string, string>, (invalid?.[1] ?? []) as string[]);
      if (stored) return statusView(stored);
      // Not picked up by a worker yet: the job exists, the status record does not.
      const jobId = notifyJobId(ref);
      const state = await this.queue.state(jobId);
      if (state === 'waiting' || state === 'delayed') return queuedStatus(id, await this.enqueuedAt(jobId));
      return undefined;
    } catch (err) {
      throw new HeraldClientError('unavailable', `Redis did not answer: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /**
   * The daemon's own step (contract/cancel-script.ts): the status record says cancelled
   * before the job is removed, so a worker that raced it sends nothing. A job not yet run
   * has no record: one is created cancelled, kept Herald's default status retention (24 h).
   */
  async cancel(id: string): Promise<CancelResult> {
    await this.connect();
    const ref = { app: this.options.app, id };
    const key = statusKey(this.keyPrefix, ref);
    const jobId = notifyJobId(ref);
    try {
      const run = async (create: boolean): Promise<CancelResult> =>
        parseCancelReply(await this.connection.eval(CANCEL_STATUS_LUA, 1, key, ...cancelArgs(Date.now(), create ? { app: ref.app, createdAt: Date.now(), ttlSeconds: DEFAULT_STATUS_RETENTION_SECONDS } : undefined)));
      let result = await run(false);
      if (!result.cancelled && result.state === undefined) {
        const state = await this.queue.state(jobId);
        if (state === 'waiting' || state === 'delayed') result = await run(true);
      }
      if (result.cancelled) await this.queue.remove(jobId).catch(() => false);
      return result;
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
  private async enqueuedAt(jobId: string): Promise<number | undefined> {
    const timestamp = await this.connection.hget(`${this.prefix}:${NOTIFY_QUEUE}:${jobId}`, 'timestamp');
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

/** Herald's default `queue.statusRetentionSeconds`: how long a record the client creates is kept. */
const DEFAULT_STATUS_RETENTION_SECONDS = 24 * 3600;

function ignore(): void {}

/** A duplicate made for the queue: its failures reach callers as rejections, not as printed errors. */
function quiet<C extends Redis | Cluster>(connection: C): C {
  connection.on('error', ignore);
  return connection;
}

function delayOf(notification: Notification): { delayMs?: number } {
  if (notification.sendAt === undefined) return {};
  const delayMs = Date.parse(notification.sendAt) - Date.now();
  return delayMs > 0 ? { delayMs } : {};
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
