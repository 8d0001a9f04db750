import { setLongTimeout } from '../lib/long-timer.js';
import type { LongTimer } from '../lib/long-timer.js';
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

interface MemoryJob {
  readonly id: string;
  /** Kept as given and parsed at pickup, like a job read back from Redis. */
  readonly data: unknown;
  readonly enqueuedAt: number;
  state: JobState;
  attempt: number;
  /** Forgotten once completed (EnqueueOptions.forgetWhenCompleted). */
  readonly forget: boolean;
  /** A long timer: a send time or retry-after may be weeks away, beyond setTimeout's range. */
  timer?: LongTimer;
}

export interface MemoryQueueDriverOptions<T> extends QueueDriverSettings<T> {
  /** Finished jobs remembered (for `state` and idempotency) before the oldest are forgotten. */
  keepFinished?: number;
}

/**
 * The embedded default: the same semantics as the BullMQ driver (idempotent ids,
 * delays, retries, concurrency, parse at pickup) in one process. Jobs live only as
 * long as the process.
 */
export class MemoryQueueDriver<T> implements QueueDriver<T> {
  readonly name: string;
  readonly queueName: string;
  private readonly jobs = new Map<string, MemoryJob>();
  private readonly ready: string[] = [];
  private readonly finished: string[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly stopController = new AbortController();
  private handler: JobHandler<T> | undefined;
  private concurrency = 1;
  private started = false;
  private stopping = false;

  constructor(private readonly options: MemoryQueueDriverOptions<T>) {
    this.queueName = options.name;
    this.name = `queue:${options.name}${options.partition ? `#${options.partition}` : ''}`;
  }

  async enqueue(id: string, data: T, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    if (this.jobs.has(id)) return { id, duplicate: true };
    const job: MemoryJob = { id, data, enqueuedAt: Date.now(), state: 'waiting', attempt: 1, forget: options.forgetWhenCompleted === true };
    this.jobs.set(id, job);
    this.schedule(job, options.delayMs ?? 0);
    return { id, duplicate: false };
  }

  async enqueueMany(jobs: ReadonlyArray<{ id: string; data: T; options?: EnqueueOptions }>): Promise<void> {
    for (const job of jobs) await this.enqueue(job.id, job.data, job.options);
  }

  consume(handler: JobHandler<T>, options: ConsumeOptions): void {
    if (this.handler) throw new Error(`queue ${this.queueName} already has a consumer`);
    this.handler = handler;
    this.concurrency = Math.max(1, options.concurrency);
    this.pump();
  }

  async remove(id: string): Promise<boolean> {
    const job = this.jobs.get(id);
    if (job?.state !== 'waiting' && job?.state !== 'delayed') return false;
    job.timer?.clear();
    // `ready` may still name it: pump skips ids it no longer knows.
    this.jobs.delete(id);
    return true;
  }

  async state(id: string): Promise<JobState | undefined> {
    return this.jobs.get(id)?.state;
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts: Record<JobState, number> = { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 };
    for (const job of this.jobs.values()) counts[job.state] += 1;
    return counts;
  }

  async oldestWaitingSince(): Promise<number | undefined> {
    for (const id of this.ready) {
      const job = this.jobs.get(id);
      if (job?.state === 'waiting') return job.enqueuedAt;
    }
    return undefined;
  }

  health(): { ok: boolean; detail?: string } {
    if (this.stopping) return { ok: false, detail: 'stopping' };
    if (!this.started || !this.handler) return { ok: false, detail: 'no consumer running' };
    return { ok: true };
  }

  async start(): Promise<void> {
    this.started = true;
    this.pump();
  }

  async stop(deadline: AbortSignal): Promise<void> {
    this.stopping = true;
    for (const job of this.jobs.values()) job.timer?.clear();
    if (this.running.size === 0) return;
    // In-flight handlers may finish within the grace; at the deadline they are told to hand back.
    const onDeadline = (): void => this.stopController.abort(deadline.reason);
    if (deadline.aborted) onDeadline();
    else deadline.addEventListener('abort', onDeadline, { once: true });
    await Promise.race([Promise.allSettled([...this.running]), handBackGrace(this.stopController.signal)]);
    deadline.removeEventListener('abort', onDeadline);
  }

  private schedule(job: MemoryJob, delayMs: number): void {
    if (this.stopping) {
      job.state = delayMs > 0 ? 'delayed' : 'waiting';
      return;
    }
    if (delayMs > 0) {
      job.state = 'delayed';
      job.timer = setLongTimeout(() => {
        delete job.timer;
        if (this.stopping) return;
        job.state = 'waiting';
        this.ready.push(job.id);
        this.pump();
      }, delayMs).unref();
      return;
    }
    job.state = 'waiting';
    this.ready.push(job.id);
    this.pump();
  }

  private pump(): void {
    const handler = this.handler;
    if (!handler || !this.started) return;
    while (!this.stopping && this.running.size < this.concurrency && this.ready.length > 0) {
      const job = this.jobs.get(this.ready.shift() as string);
      if (!job || job.state !== 'waiting') continue;
      job.state = 'active';
      const run = this.run(job, handler).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async run(job: MemoryJob, handler: JobHandler<T>): Promise<void> {
    const parsed = this.options.parse(job.data, { id: job.id });
    if (!parsed.ok) {
      this.finish(job, 'failed');
      this.options.onInvalid?.({ id: job.id, error: parsed.error, data: job.data });
      return;
    }
    let result: JobResult;
    try {
      result = await handler({ id: job.id, data: parsed.value, attempt: job.attempt, enqueuedAt: job.enqueuedAt }, this.stopController.signal);
    } catch (error) {
      this.options.onError?.({ id: job.id, error });
      result = { type: 'failed-attempt', afterMs: this.options.backoff(job.attempt), reason: error instanceof Error ? error.message : String(error) };
    }
    this.apply(job, result, parsed.value);
  }

  private apply(job: MemoryJob, result: JobResult, data: T): void {
    switch (result.type) {
      case 'done':
        this.finish(job, 'completed');
        return;
      case 'delay':
        this.schedule(job, Math.max(0, result.afterMs));
        return;
      case 'failed-attempt':
        if (job.attempt >= this.options.maxJobAttempts) {
          this.finish(job, 'failed');
          this.options.onFailed?.({ id: job.id, reason: result.reason, data });
          return;
        }
        job.attempt += 1;
        this.schedule(job, Math.max(0, result.afterMs));
        return;
      case 'failed':
        this.finish(job, 'failed');
        this.options.onFailed?.({ id: job.id, reason: result.reason, data });
        return;
    }
  }

  private finish(job: MemoryJob, state: 'completed' | 'failed'): void {
    job.state = state;
    if (state === 'completed' && job.forget) {
      this.jobs.delete(job.id);
      return;
    }
    this.finished.push(job.id);
    const keep = this.options.keepFinished ?? 10_000;
    while (this.finished.length > keep) {
      const oldest = this.finished.shift();
      if (oldest !== undefined) this.jobs.delete(oldest);
    }
  }
}
