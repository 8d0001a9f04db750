import type { Cluster, Redis } from 'ioredis';
import { NOTIFY_JOB, NOTIFY_QUEUE, notifyJobId } from '../notifications/contract/job-ids.js';
import { ENVELOPE_JOB, ENVELOPE_QUEUE, SHARED_ENVELOPE_ENQUEUE, envelopeJobId, singleEnvelopeJobId } from '../notifications/contract/envelope.js';
import type { Envelope } from '../notifications/contract/envelope.js';
import { partitionOf, partitionPrefix } from '../notifications/contract/partitions.js';
import { statusView } from '../notifications/contract/status-view.js';
import { CANCEL_STATUS_LUA, cancelArgs, parseCancelReply } from '../notifications/contract/cancel-script.js';
import { INVALID_TOKENS_SHOWN, readStatusRecord } from '../notifications/contract/status.js';
import type { Notification } from '../notifications/contract/notification-schema.js';
import { parseNotification } from '../notifications/contract/parse-notification.js';
import { BullmqQueueDriver } from '../queue/bullmq-queue-driver.js';
import type { RedisConnect } from '../queue/bullmq-queue-driver.js';
import type { EnqueueOptions } from '../queue/queue-driver.js';
import { createRedisClient } from '../redis/redis-client.js';
import { checkMany } from './check-many.js';
import { HeraldClientError } from './client-error.js';
import { planEnvelopes } from './envelope-plan.js';
import type { PlannedEnvelope } from './envelope-plan.js';
import { mapLimit } from './map-limit.js';
import { checkRedisOptions } from './redis-options.js';
import type { QueueLayout, RedisTransportOptions } from './redis-options.js';
import { queuedByThisCall, RedisRecords } from './redis-records.js';
import type { Transport } from './transport.js';
import type { CancelResult, NotificationStatus, NotifyResult } from './types.js';

/** Envelopes written at once by one `sendMany`. */
const ENVELOPES_IN_FLIGHT = 8;

/**
 * Writes notifications straight into Herald's BullMQ queues in Redis, as the contract
 * lets any producer do, after the same validation the HTTP API applies to a body (the
 * app's own checks, such as its APNs credentials, run in the worker). One notification
 * is a `notify` job (`n:<app>:<id>`, docs/queue.md "Job ids"); many are envelope jobs of
 * their partitions (contract/envelope.ts). Each job is added first, then the status
 * records it delivers are created owned by it (redis-records.ts), so the status answers
 * at once and a known id is answered duplicate and never queued twice.
 */
export class RedisTransport implements Transport {
  private readonly connection: Redis | Cluster;
  private readonly ownsConnection: boolean;
  private readonly queue: BullmqQueueDriver<Notification>;
  /** Each partition's `notification-batches` queue, made when first used. */
  private readonly envelopeQueues = new Map<number, Promise<BullmqQueueDriver<Envelope>>>();
  private readonly connectQueue: RedisConnect;
  private readonly records: RedisRecords;
  private readonly layout: QueueLayout;
  private ready: Promise<void> | undefined;

  constructor(private readonly options: RedisTransportOptions) {
    const checked = checkRedisOptions(options);
    let open: () => Redis | Cluster;
    if ('connection' in checked) {
      const given = checked.connection;
      this.ownsConnection = false;
      this.connection = given;
      // The queues close the connection they are given, so they get one of their own.
      open = () => quiet(given.isCluster ? (given as Cluster).duplicate() : (given as Redis).duplicate());
    } else {
      this.ownsConnection = true;
      // Failures reach the caller as rejected calls, so reconnection errors are not printed.
      this.connection = createRedisClient(checked.config, 'commands', 'client', { onError: ignore, lazyConnect: true });
      open = () => createRedisClient(checked.config, 'queue', 'client-queue', { onError: ignore, lazyConnect: true });
    }
    // Producers only: every queue of every partition shares one connection (closed with the last queue).
    let shared: Redis | Cluster | undefined;
    this.connectQueue = () => (shared ??= open());
    this.layout = { prefix: checked.prefix, keyPrefix: checked.keyPrefix, partitions: checked.partitions, chunkSize: checked.chunkSize, statusRetentionSeconds: checked.statusRetentionSeconds };
    this.queue = this.producer<Notification>(NOTIFY_QUEUE, NOTIFY_JOB, checked.prefix);
    this.records = new RedisRecords(this.connection, { ...this.layout, queuePrefix: checked.prefix });
  }

  async notify(notification: Record<string, unknown>): Promise<NotifyResult> {
    const checked = parseNotification(notification);
    if (!checked.ok) throw new HeraldClientError('invalid', checked.error, { path: checked.path });
    await this.connect();
    const n = checked.notification;
    const ref = { app: this.options.app, id: n.id };
    try {
      // Known to the status store: delivered (or under way) already, and its job may be gone.
      if ((await this.records.known([ref]))[0] === true) return { id: ref.id, duplicate: true };
      const job = notifyJobId(ref);
      const queued = await this.queue.enqueue(job, n, delayOf(n));
      // The job exists already (a send at the same moment, or one that stopped before its record): its record is made if it still runs.
      if (queued.duplicate && !(await stillToRun(this.queue, job))) return { id: ref.id, duplicate: true };
      const [reply] = await this.records.create([n], job, notBefore(n));
      return { id: ref.id, duplicate: reply === undefined || !queuedByThisCall(reply, job, !queued.duplicate) };
    } catch (err) {
      throw new HeraldClientError('unavailable', `Redis refused the job: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /**
   * Envelope jobs, one per partition and send time (and per 1,000 notifications or 4 MB),
   * each followed by one script call that creates its records. Known ids are left out of
   * the envelopes; an id that became known meanwhile is answered duplicate and skipped by
   * the envelope's worker (its record names another job).
   */
  async notifyMany(notifications: ReadonlyArray<Record<string, unknown>>): Promise<NotifyResult[]> {
    const checked = checkMany(notifications);
    const results: NotifyResult[] = checked.entries.map(({ id }) => ({ id, duplicate: true }));
    if (checked.unique.length === 0) return results;
    await this.connect();
    const envelopes = planEnvelopes(checked.unique, { partitions: this.layout.partitions, now: Date.now() });
    try {
      await mapLimit(envelopes, ENVELOPES_IN_FLIGHT, async (envelope) => {
        for (const [index, mine] of await this.writeEnvelope(envelope)) results[index] = { id: results[index]?.id ?? '', duplicate: !mine };
      });
    } catch (err) {
      throw new HeraldClientError('unavailable', `Redis refused the envelope: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return results;
  }

  async status(id: string): Promise<NotificationStatus | undefined> {
    await this.connect();
    const ref = { app: this.options.app, id };
    try {
      const key = this.records.key(ref);
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
   * before the job is removed, so a worker that raced it sends nothing (a notification in
   * an envelope keeps its envelope job, whose worker skips it). A job another producer
   * added without a record gets one created cancelled, kept `statusRetentionSeconds`.
   */
  async cancel(id: string): Promise<CancelResult> {
    await this.connect();
    const ref = { app: this.options.app, id };
    const key = this.records.key(ref);
    const jobId = notifyJobId(ref);
    try {
      const run = async (create: boolean): Promise<CancelResult> =>
        parseCancelReply(await this.connection.eval(CANCEL_STATUS_LUA, 1, key, ...cancelArgs(Date.now(), create ? { app: ref.app, createdAt: Date.now(), ttlSeconds: this.layout.statusRetentionSeconds } : undefined)));
      let result = await run(false);
      if (!result.cancelled && result.state === undefined) {
        const state = await this.queue.state(jobId);
        if (state === 'waiting' || state === 'delayed') result = await run(true);
      }
      if (result.cancelled) {
        // A job of its own is spared its run; one in a shared envelope is skipped by it.
        await this.queue.remove(jobId).catch(() => false);
        const envelopes = await this.envelopeQueue(partitionOf(ref, this.layout.partitions)).catch(() => undefined);
        await envelopes?.remove(singleEnvelopeJobId(ref)).catch(() => false);
      }
      return result;
    } catch (err) {
      throw new HeraldClientError('unavailable', `Redis did not answer: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    // Also when never started: the queue opened its connection when it was constructed.
    const envelopeQueues = await Promise.all([...this.envelopeQueues.values()].map((made) => made.catch(() => undefined)));
    const stopping = [this.queue, ...envelopeQueues].map((queue) => queue?.stop(AbortSignal.timeout(5_000)).catch(() => undefined));
    await Promise.all(stopping);
    if (this.ownsConnection) this.connection.disconnect();
  }

  /** The envelope job, then its records; per notification (by call position), whether this call queued it. */
  private async writeEnvelope(envelope: PlannedEnvelope): Promise<Array<[number, boolean]>> {
    const known = await this.records.known(envelope.entries.map((e) => e.notification));
    const fresh = envelope.entries.filter((_, i) => known[i] !== true);
    const answers: Array<[number, boolean]> = envelope.entries.filter((_, i) => known[i] === true).map((e) => [e.index, false]);
    if (fresh.length === 0) return answers;
    const queue = await this.envelopeQueue(envelope.partition);
    const job = envelope.jobId ?? envelopeJobId(envelope.partition);
    const notifications = fresh.map((e) => e.notification);
    const options: EnqueueOptions = envelope.jobId === undefined ? { ...SHARED_ENVELOPE_ENQUEUE } : {};
    if (envelope.delayMs > 0) options.delayMs = envelope.delayMs;
    const queued = await queue.enqueue(job, { v: 1, notifications }, options);
    // Only a notification travelling alone (`e:<app>:<id>`) can find its job there already.
    if (queued.duplicate && !(await stillToRun(queue, job))) return [...answers, ...fresh.map((e): [number, boolean] => [e.index, false])];
    const replies = await this.records.create(notifications, job, envelope.notBefore);
    fresh.forEach((entry, i) => {
      const reply = replies[i];
      answers.push([entry.index, reply !== undefined && queuedByThisCall(reply, job, !queued.duplicate)]);
    });
    return answers;
  }

  private envelopeQueue(partition: number): Promise<BullmqQueueDriver<Envelope>> {
    let made = this.envelopeQueues.get(partition);
    if (!made) {
      const queue = this.producer<Envelope>(ENVELOPE_QUEUE, ENVELOPE_JOB, partitionPrefix(this.layout.prefix, partition, this.layout.partitions));
      made = queue.start().then(() => queue);
      // A queue that could not start is stopped and made again by the next call.
      made.catch(() => {
        this.envelopeQueues.delete(partition);
        void queue.stop(AbortSignal.timeout(5_000)).catch(() => undefined);
      });
      this.envelopeQueues.set(partition, made);
    }
    return made;
  }

  /** A queue this client only adds to: parse, attempts and backoff belong to the daemon's workers. */
  private producer<T>(name: string, jobName: string, prefix: string): BullmqQueueDriver<T> {
    return new BullmqQueueDriver<T>({
      name,
      jobName,
      prefix,
      parse: (data) => ({ ok: true, value: data as T }),
      maxJobAttempts: 1,
      backoff: () => 0,
      connect: this.connectQueue,
    });
  }

  /** BullMQ keeps the time a job was added in its hash. */
  private async enqueuedAt(jobId: string): Promise<number | undefined> {
    const timestamp = await this.connection.hget(`${this.layout.prefix}:${NOTIFY_QUEUE}:${jobId}`, 'timestamp');
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

function ignore(): void {}

/** A duplicate made for the queue: its failures reach callers as rejections, not as printed errors. */
function quiet<C extends Redis | Cluster>(connection: C): C {
  connection.on('error', ignore);
  return connection;
}

/** Whether a job found under its id is still to run (then the records it delivers may be made now). */
async function stillToRun<T>(queue: BullmqQueueDriver<T>, job: string): Promise<boolean> {
  const state = await queue.state(job);
  return state === 'waiting' || state === 'delayed' || state === 'active';
}

/** `sendAt` in ms, 0 for none. */
function notBefore(notification: Notification): number {
  return notification.sendAt === undefined ? 0 : Date.parse(notification.sendAt);
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
