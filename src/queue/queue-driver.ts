import type { Service } from '../lib/service.js';

/**
 * A job queue with at-least-once delivery, used for notifications and their chunks
 * and for anything else that needs retries that survive the process (webhooks).
 * Memory (embedded default) and BullMQ implement it with the same semantics; the
 * conformance suite in test/conformance/queue-driver.ts holds both to them.
 *
 * `T` is the validated job data. The driver never trusts what it reads back from
 * the queue (other programs may write to it): every job passes `parse` before the
 * handler sees it, and a job that fails `parse` is failed at once, reported through
 * `onInvalid`, and never retried or left blocking the queue.
 */
export interface QueueDriver<T> extends Service {
  /** The queue's name (e.g. `notifications`); BullMQ keys are `<prefix>:<name>:...`. */
  readonly queueName: string;
  /**
   * Idempotent by id while the job is known to the queue (waiting, delayed, active,
   * or kept after it finished): enqueuing a known id again returns `duplicate: true`
   * and schedules nothing. Ids must not contain `:` nor be integers (BullMQ rule).
   */
  enqueue(id: string, data: T, options?: EnqueueOptions): Promise<EnqueueResult>;
  /** Enqueues several jobs in one round trip; ids already known are skipped silently. */
  enqueueMany(jobs: ReadonlyArray<{ id: string; data: T; options?: EnqueueOptions }>): Promise<void>;
  /**
   * Starts consuming (once; a second call throws). Up to `concurrency` handlers run at a
   * time; a handler's slot is freed as soon as it returns, also when it asks for a delay.
   */
  consume(handler: JobHandler<T>, options: ConsumeOptions): void;
  /**
   * Removes a job that is not running (waiting or delayed): true when it was removed;
   * false when it is running, finished or unknown. Its id is then free again.
   */
  remove(id: string): Promise<boolean>;
  /** Where a job is now, or undefined once it is unknown to the queue. */
  state(id: string): Promise<JobState | undefined>;
  /** Number of jobs per state, for metrics. */
  counts(): Promise<Record<JobState, number>>;
  /** When the job waiting longest (ready to run, not delayed) was enqueued, for metrics. */
  oldestWaitingSince(): Promise<number | undefined>;
  /** Consumer running and, for BullMQ, its Redis reachable. */
  health(): { ok: boolean; detail?: string };
}

export interface EnqueueOptions {
  /** Not before this many milliseconds from now. */
  delayMs?: number;
  /**
   * The caller made the id just now from random bytes, so no job can have it: the driver
   * does not look for one (a round trip to Redis saved) and `duplicate` is false.
   */
  freshId?: boolean;
  /**
   * Forget the job once it has completed (a failed one is kept like any other): for an id
   * nothing asks about again, as a shared envelope's. Otherwise a completed job stays,
   * with its data, while the driver keeps finished jobs (BullMQ: up to 10,000, an hour).
   */
  forgetWhenCompleted?: boolean;
}

export interface EnqueueResult {
  id: string;
  duplicate: boolean;
}

export interface ConsumeOptions {
  concurrency: number;
}

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';

/** What a handler is given: the job id, its validated data, and which attempt this is. */
export interface QueueJob<T> {
  readonly id: string;
  readonly data: T;
  /** 1 on the first run; grows by one per `failed-attempt` result or thrown error, never for `delay`. */
  readonly attempt: number;
  /** When the job was first enqueued (ms since the epoch). */
  readonly enqueuedAt: number;
}

/**
 * The handler's `signal` aborts when the process is stopping and the grace period is
 * over: the handler should record its progress and return `{ type: 'delay', afterMs: 0 }`
 * promptly, which hands the job back to the queue for another consumer.
 */
export type JobHandler<T> = (job: QueueJob<T>, signal: AbortSignal) => Promise<JobResult>;

export type JobResult =
  /** Finished: the job is completed. */
  | { type: 'done' }
  /** This attempt failed: counts an attempt; after `maxJobAttempts` the job fails with `reason`. */
  | { type: 'failed-attempt'; afterMs: number; reason: string }
  /** Not a failure: come back in `afterMs` (a send time, a provider's retry-after). Counts no attempt. */
  | { type: 'delay'; afterMs: number }
  /** Permanently failed: no further attempt. */
  | { type: 'failed'; reason: string };

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Settings shared by both drivers. A handler that throws is treated as `failed-attempt` with `backoff`. */
export interface QueueDriverSettings<T> {
  /** Queue name, e.g. `notifications`. No `:`. */
  name: string;
  /**
   * Which partition of the queue this is (default 0): BullMQ keeps partition k under the
   * partition's own prefix and hash tag (notifications/contract/partitions.ts).
   */
  partition?: number;
  /** The BullMQ job name jobs are added with, e.g. `notify`. Consumers take any name. */
  jobName: string;
  /** Validates (and may normalise) job data read back from the queue; `job.id` is the id it was queued under. */
  parse(data: unknown, job: { id: string }): ParseResult<T>;
  /** Attempts before a job that keeps answering `failed-attempt` (or throwing) is failed. */
  maxJobAttempts: number;
  /** Delay before re-running a job whose handler threw. */
  backoff(attempt: number): number;
  /** A job whose data failed `parse`; the driver has already failed it. `data` is what was read, unvalidated. */
  onInvalid?(event: { id: string; error: string; data: unknown }): void;
  /** A job failed for good (`failed` result, or attempts exhausted). */
  onFailed?(event: { id: string; reason: string; data: T }): void;
  /** A handler threw (an infrastructure problem or a bug; the job will be retried), or the driver itself failed (no id). */
  onError?(event: { id?: string; error: unknown }): void;
}

/** Makes a queue of the kind main.ts chose (BullMQ with a Redis URL, memory without). */
export type QueueFactory = <T>(settings: QueueDriverSettings<T>) => QueueDriver<T>;

/** How long a handler told to hand back (stop deadline passed) is waited for before stop goes on without it. */
export const HAND_BACK_GRACE_MS = 1_000;

/**
 * Resolves HAND_BACK_GRACE_MS after `handBack` aborts: a stop waits for running handlers
 * at most that long past its deadline, so one that ignores its signal cannot hold the
 * process (its job stays unfinished in the queue and runs again).
 */
export function handBackGrace(handBack: AbortSignal): Promise<'late'> {
  return new Promise((resolve) => {
    const later = (): void => void setTimeout(() => resolve('late'), HAND_BACK_GRACE_MS).unref();
    if (handBack.aborted) later();
    else handBack.addEventListener('abort', later, { once: true });
  });
}
