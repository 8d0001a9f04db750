import { DelayedError, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { isRedisUnavailable } from '../redis/redis-errors.js';
import type {
  ConsumeOptions,
  EnqueueOptions,
  EnqueueResult,
  JobHandler,
  JobResult,
  JobState,
  QueueDriver,
  QueueDriverSettings,
} from './queue-driver.js';
import { handBackGrace } from './queue-driver.js';
import { QueueWriteHealth } from './queue-write-health.js';
import { childController } from '../lib/abort-watch.js';

/**
 * Opens a Redis connection; `blocking` ones are the worker's (BullMQ needs `maxRetriesPerRequest: null` there).
 * In the daemon this is `RedisConnections.connector(name)`, so the queue follows the configured
 * deployment shape and its connections report their outages like every other.
 */
export type RedisConnect = (purpose: 'commands' | 'blocking') => Redis | Cluster;

export interface BullmqQueueDriverOptions<T> extends QueueDriverSettings<T> {
  connect: RedisConnect;
  /** BullMQ key prefix (config `queue.prefix`); `{herald}` keeps every key in one Redis Cluster slot. */
  prefix: string;
  /** A worker that stops renewing its lock for this long (killed, frozen) loses its jobs to another. */
  lockDurationMs?: number;
  /** How often a consumer's job may be taken back from a dead worker before it is failed. */
  maxStalledCount?: number;
  /** Finished jobs kept in Redis (so `state` answers and ids stay taken a while). */
  keepCompleted?: { ageSeconds: number; count: number };
  keepFailed?: { ageSeconds: number; count: number };
  /** A job add failed (metrics): `reason` is unavailable, a lasting Redis error code such as WRONGTYPE, or other. */
  onEnqueueFailed?(reason: string): void;
}

/**
 * BullMQ's own keys next to the job hashes (`<prefix>:<queue>:<name>`) and the type each
 * must have. A job id equal to one of the names would write over it: the driver refuses
 * such ids, and the write probe checks the types.
 */
const QUEUE_KEY_TYPES: Readonly<Record<string, string>> = {
  wait: 'list',
  paused: 'list',
  active: 'list',
  delayed: 'zset',
  prioritized: 'zset',
  completed: 'zset',
  failed: 'zset',
  'waiting-children': 'zset',
  marker: 'zset',
  repeat: 'zset',
  stalled: 'set',
  meta: 'hash',
  events: 'stream',
  id: 'string',
  pc: 'string',
  limiter: 'string',
  'stalled-check': 'string',
};
/** Herald's own keys in the queue's namespace. */
const HERALD_KEYS = ['herald-attempts', 'herald-write-probe'];

/**
 * BullMQ on Redis. Jobs are added as `<jobName>` with jobId = the caller's id, so other
 * programs can add the same jobs with `new Queue(name, { prefix }).add(jobName, data, { jobId })`.
 * Callers build ids that cannot name a queue key (docs/queue.md "Job ids"); an id equal
 * to one is refused here as well.
 * Retries are counted by the driver itself (a hash next to the queue), not by the
 * job's `attempts` option, so jobs added by other programs get the same retry rules.
 */
export class BullmqQueueDriver<T> implements QueueDriver<T> {
  readonly name: string;
  readonly queueName: string;
  private readonly commands: Redis | Cluster;
  private readonly queue: Queue;
  private readonly stopController = new AbortController();
  private readonly attemptsKey: string;
  private worker: Worker | undefined;
  private workerConnection: Redis | Cluster | undefined;
  private handler: JobHandler<T> | undefined;
  private concurrency = 1;
  private stopping = false;
  private readonly writes: QueueWriteHealth;

  constructor(private readonly options: BullmqQueueDriverOptions<T>) {
    this.queueName = options.name;
    this.name = `queue:${options.name}${options.partition ? `#${options.partition}` : ''}`;
    this.commands = options.connect('commands');
    this.queue = new Queue(options.name, { connection: this.commands, prefix: options.prefix });
    this.queue.on('error', this.onConnectionLevelError);
    this.attemptsKey = `${options.prefix}:${options.name}:herald-attempts`;
    this.writes = new QueueWriteHealth({ probe: () => this.probeWrites() });
  }

  async enqueue(id: string, data: T, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    assertJobId(id);
    return this.writing(async () => {
      // The job hash exists for as long as BullMQ knows the id (waiting … kept after finishing).
      if (options.freshId !== true && (await this.commands.exists(this.jobKey(id))) === 1) return { id, duplicate: true };
      await this.queue.add(this.options.jobName, data, this.addOptions(id, options));
      return { id, duplicate: false };
    });
  }

  async enqueueMany(jobs: ReadonlyArray<{ id: string; data: T; options?: EnqueueOptions }>): Promise<void> {
    if (jobs.length === 0) return;
    for (const job of jobs) assertJobId(job.id);
    await this.writing(() => this.queue.addBulk(jobs.map((job) => ({ name: this.options.jobName, data: job.data, opts: this.addOptions(job.id, job.options ?? {}) }))));
  }

  consume(handler: JobHandler<T>, options: ConsumeOptions): void {
    if (this.handler) throw new Error(`queue ${this.queueName} already has a consumer`);
    this.handler = handler;
    this.concurrency = Math.max(1, options.concurrency);
  }

  async remove(id: string): Promise<boolean> {
    assertJobId(id);
    return this.writing(async () => {
      const state = await this.queue.getJobState(id);
      if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
      // BullMQ refuses (0) a job a worker has locked meanwhile: it is running, not removed.
      return (await this.queue.remove(id)) === 1;
    });
  }

  async state(id: string): Promise<JobState | undefined> {
    const state = await this.queue.getJobState(id);
    switch (state) {
      case 'waiting':
      case 'prioritized':
      case 'waiting-children':
        return 'waiting';
      case 'delayed':
      case 'active':
      case 'completed':
      case 'failed':
        return state;
      default:
        return undefined;
    }
  }

  async counts(): Promise<Record<JobState, number>> {
    const c = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      delayed: c.delayed ?? 0,
      active: c.active ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
    };
  }

  async oldestWaitingSince(): Promise<number | undefined> {
    // BullMQ pushes new jobs on the left of the wait list and takes from the right.
    const id = await this.commands.lindex(`${this.options.prefix}:${this.options.name}:wait`, -1);
    if (id === null) return undefined;
    const timestamp = await this.commands.hget(this.jobKey(id), 'timestamp');
    return timestamp === null ? undefined : Number(timestamp);
  }

  health(): { ok: boolean; detail?: string } {
    if (this.stopping) return { ok: false, detail: 'stopping' };
    if (this.commands.status !== 'ready') return { ok: false, detail: `redis ${this.commands.status}` };
    if (this.handler && !this.worker?.isRunning()) return { ok: false, detail: 'consumer not running' };
    return this.writes.health();
  }

  async start(): Promise<void> {
    await this.queue.waitUntilReady();
    const handler = this.handler;
    if (!handler) return;
    const lockDuration = this.options.lockDurationMs ?? 30_000;
    this.workerConnection = this.options.connect('blocking');
    const worker = new Worker(this.options.name, (job: Job, token?: string, signal?: AbortSignal) => this.process(job, token, signal, handler), {
      connection: this.workerConnection,
      prefix: this.options.prefix,
      concurrency: this.concurrency,
      autorun: false,
      lockDuration,
      stalledInterval: Math.min(30_000, lockDuration),
      maxStalledCount: this.options.maxStalledCount ?? 10,
      removeOnComplete: { age: this.options.keepCompleted?.ageSeconds ?? 3600, count: this.options.keepCompleted?.count ?? 10_000 },
      removeOnFail: { age: this.options.keepFailed?.ageSeconds ?? 7 * 24 * 3600, count: this.options.keepFailed?.count ?? 10_000 },
    });
    worker.on('error', this.onConnectionLevelError);
    this.worker = worker;
    worker.run().catch((error: unknown) => this.options.onError?.({ error }));
    await worker.waitUntilReady();
  }

  async stop(deadline: AbortSignal): Promise<void> {
    this.stopping = true;
    this.writes.stop();
    const worker = this.worker;
    if (worker) {
      // Stop fetching at once; running handlers may finish within the grace, then they are told to hand back.
      const onDeadline = (): void => this.stopController.abort(deadline.reason);
      if (deadline.aborted) onDeadline();
      else deadline.addEventListener('abort', onDeadline, { once: true });
      const closed = worker.close().catch(() => undefined);
      // A handler that ignores its hand-back holds BullMQ's close for ever (a forced close only
      // returns the one under way): past the grace, stop goes on without it; the job's lock
      // expires and the job runs again.
      await Promise.race([closed, handBackGrace(this.stopController.signal)]);
      deadline.removeEventListener('abort', onDeadline);
    }
    await this.queue.close().catch(() => {});
    // BullMQ leaves connections it was handed open.
    this.workerConnection?.disconnect();
    this.commands.disconnect();
  }

  /**
   * BullMQ re-emits every failed reconnect of its connections here. Those are the
   * connections' own business (their error listeners log an outage once); only
   * other failures are passed on.
   */
  private readonly onConnectionLevelError = (error: Error): void => {
    if (isRedisUnavailable(error)) return;
    this.options.onError?.({ error });
  };

  private async process(job: Job, token: string | undefined, bullSignal: AbortSignal | undefined, handler: JobHandler<T>): Promise<void> {
    const id = job.id ?? '';
    const parsed = this.options.parse(job.data, { id });
    if (!parsed.ok) {
      this.options.onInvalid?.({ id, error: parsed.error, data: job.data as unknown });
      throw new UnrecoverableError(`invalid job data: ${parsed.error}`);
    }
    // A job on its first start has no retries yet: only later starts read the count.
    const retries = job.attemptsStarted > 1 ? Number((await this.bookkeeping().hget(this.attemptsKey, id)) ?? 0) : 0;
    const attempt = retries + 1;
    const linked = bullSignal ? childController(bullSignal, this.stopController.signal) : undefined;
    const signal = linked ? linked.controller.signal : this.stopController.signal;
    let result: JobResult;
    try {
      result = await handler({ id, data: parsed.value, attempt, enqueuedAt: job.timestamp }, signal);
    } catch (error) {
      this.options.onError?.({ id, error });
      result = { type: 'failed-attempt', afterMs: this.options.backoff(attempt), reason: error instanceof Error ? error.message : String(error) };
    } finally {
      linked?.release();
    }
    switch (result.type) {
      case 'done':
        if (retries > 0) await this.bookkeeping().hdel(this.attemptsKey, id);
        return;
      case 'delay':
        await job.moveToDelayed(Date.now() + Math.max(0, result.afterMs), token);
        throw new DelayedError();
      case 'failed-attempt':
        if (attempt >= this.options.maxJobAttempts) return this.fail(job, id, result.reason, parsed.value);
        await this.bookkeeping().hincrby(this.attemptsKey, id, 1);
        await job.moveToDelayed(Date.now() + Math.max(0, result.afterMs), token);
        throw new DelayedError();
      case 'failed':
        return this.fail(job, id, result.reason, parsed.value);
    }
  }

  private async fail(_job: Job, id: string, reason: string, data: T): Promise<never> {
    await this.bookkeeping().hdel(this.attemptsKey, id);
    this.options.onFailed?.({ id, reason, data });
    throw new UnrecoverableError(reason);
  }

  private addOptions(id: string, options: EnqueueOptions): { jobId: string; delay?: number; removeOnComplete?: true } {
    const added: { jobId: string; delay?: number; removeOnComplete?: true } = { jobId: id };
    const delay = Math.max(0, Math.round(options.delayMs ?? 0));
    if (delay > 0) added.delay = delay;
    // A job's own removeOnComplete overrides the worker's retention.
    if (options.forgetWhenCompleted === true) added.removeOnComplete = true;
    return added;
  }

  /**
   * The worker's connection, which waits for Redis: a job's retry count must survive an
   * outage like the job itself, whereas the `commands` connection fails at once so an
   * HTTP enqueue can answer.
   */
  private bookkeeping(): Redis | Cluster {
    return this.workerConnection ?? this.commands;
  }

  private jobKey(id: string): string {
    return `${this.options.prefix}:${this.options.name}:${id}`;
  }

  /** Runs a job add, keeping the write health and the failure count by reason. */
  private async writing<R>(write: () => Promise<R>): Promise<R> {
    try {
      const result = await write();
      this.writes.succeeded();
      return result;
    } catch (err) {
      this.options.onEnqueueFailed?.(this.writes.failed(err));
      throw err;
    }
  }

  /**
   * While writes are refused: do the queue's keys have BullMQ's types, and does a plain
   * write succeed? Undefined when both do (writes should work again).
   */
  private async probeWrites(): Promise<string | undefined> {
    const names = Object.keys(QUEUE_KEY_TYPES);
    const types = await Promise.all(names.map((name) => this.commands.type(this.jobKey(name))));
    for (const [index, name] of names.entries()) {
      const type = types[index];
      if (type !== undefined && type !== 'none' && type !== QUEUE_KEY_TYPES[name]) {
        return `key ${this.jobKey(name)} is a ${type}, BullMQ needs a ${QUEUE_KEY_TYPES[name]} (WRONGTYPE): delete or repair it`;
      }
    }
    await this.commands.set(this.jobKey('herald-write-probe'), String(Date.now()), 'PX', 60_000);
    return undefined;
  }
}

/** A job id that would name one of the queue's own keys, or that BullMQ refuses, never reaches Redis. */
function assertJobId(id: string): void {
  if (id === '' || Object.hasOwn(QUEUE_KEY_TYPES, id) || HERALD_KEYS.includes(id) || id.startsWith('de:') || id.startsWith('repeat:')) {
    throw new Error(`job id '${id.slice(0, 64)}' names one of the queue's own keys`);
  }
}
