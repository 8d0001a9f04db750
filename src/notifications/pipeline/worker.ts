import type { Service } from '../../lib/service.js';
import type { Logger } from '../../log/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { JobHandler, JobResult, QueueDriver } from '../../queue/queue-driver.js';

/** What the worker needs of a queue besides consuming it (any job type). */
type ConsumedQueue = Pick<QueueDriver<unknown>, 'queueName' | 'start' | 'stop' | 'health' | 'counts' | 'oldestWaitingSince'>;

/** A queue and the handler of its jobs, bound together so queues of different job types sit in one list. */
export interface Consumer {
  readonly queue: ConsumedQueue;
  consume(wrap: <T>(handler: JobHandler<T>) => JobHandler<T>, concurrency: number): void;
}

export function consumer<T>(queue: QueueDriver<T>, handler: JobHandler<T>): Consumer {
  return { queue, consume: (wrap, concurrency) => queue.consume(wrap(handler), { concurrency }) };
}

export interface NotificationWorkerOptions {
  /** `notify` jobs, envelopes and chunks, of every partition. */
  consumers: readonly Consumer[];
  /** Jobs of each queue run at once by this process. */
  concurrency: number;
  metrics: Metrics;
  log: Logger;
}

/**
 * Consumes the notification queues: `notifications`, and `notification-batches` and
 * `notification-chunks` of every partition. Stopping stops taking jobs at once; running
 * ones finish within the grace period, and what is still running at its end is handed
 * back to the queue with its progress checkpointed.
 */
export class NotificationWorker implements Service {
  readonly name = 'notification-worker';

  constructor(private readonly o: NotificationWorkerOptions) {}

  async start(): Promise<void> {
    for (const c of this.o.consumers) c.consume((handler) => this.timed(handler), this.o.concurrency);
    for (const c of this.o.consumers) await c.queue.start();
  }

  async stop(deadline: AbortSignal): Promise<void> {
    await Promise.all(this.o.consumers.map((c) => c.queue.stop(deadline)));
  }

  /** For readiness: every consumer running and its queue reachable. */
  health(): { ok: boolean; detail?: string } {
    const problems = this.o.consumers.flatMap(({ queue }) => {
      const health = queue.health();
      return health.ok ? [] : [`${queue.queueName}: ${health.detail ?? 'not ready'}`];
    });
    return problems.length === 0 ? { ok: true } : { ok: false, detail: problems.join('; ') };
  }

  /** Job counts by state and the oldest waiting job's age, refreshed at each scrape. */
  async collectMetrics(): Promise<void> {
    const now = Date.now();
    let oldest: number | undefined;
    // Partitions of one queue are summed under its name.
    const totals = new Map<string, Map<string, number>>();
    for (const { queue } of this.o.consumers) {
      const counts = await queue.counts();
      const total = totals.get(queue.queueName) ?? new Map<string, number>();
      totals.set(queue.queueName, total);
      for (const [state, count] of Object.entries(counts)) total.set(state, (total.get(state) ?? 0) + count);
      const since = await queue.oldestWaitingSince();
      if (since !== undefined) oldest = Math.min(oldest ?? since, since);
    }
    for (const [queue, counts] of totals) for (const [state, count] of counts) this.o.metrics.queueJobs.set({ queue, state }, count);
    this.o.metrics.queueOldestWaitingSeconds.set(oldest === undefined ? 0 : Math.max(0, now - oldest) / 1000);
  }

  private timed<T>(handler: JobHandler<T>): JobHandler<T> {
    return async (job, signal) => {
      const started = performance.now();
      let result: JobResult | undefined;
      try {
        result = await handler(job, signal);
        return result;
      } finally {
        this.o.metrics.jobDuration.observe({ status: result?.type ?? 'error' }, (performance.now() - started) / 1000);
      }
    };
  }
}
