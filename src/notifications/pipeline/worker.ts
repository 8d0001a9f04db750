import type { Service } from '../../lib/service.js';
import type { Logger } from '../../log/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Notification } from '../contract/notification-schema.js';
import type { JobHandler, JobResult, QueueDriver } from '../../queue/queue-driver.js';
import type { ChunkJob } from './chunk-job.js';

export interface NotificationWorkerOptions {
  notifications: QueueDriver<Notification>;
  chunks: QueueDriver<ChunkJob>;
  dispatch: JobHandler<Notification>;
  sendChunk: JobHandler<ChunkJob>;
  /** Jobs of each queue run at once by this process. */
  concurrency: number;
  metrics: Metrics;
  log: Logger;
}

/**
 * Consumes the `notifications` and `notification-chunks` queues. Stopping stops taking
 * jobs at once; running chunks finish within the grace period, and what is still
 * running at its end is handed back to the queue with its progress checkpointed.
 */
export class NotificationWorker implements Service {
  readonly name = 'notification-worker';

  constructor(private readonly o: NotificationWorkerOptions) {}

  async start(): Promise<void> {
    const { notifications, chunks, concurrency } = this.o;
    notifications.consume(this.timed(this.o.dispatch), { concurrency });
    chunks.consume(this.timed(this.o.sendChunk), { concurrency });
    await notifications.start();
    await chunks.start();
  }

  async stop(deadline: AbortSignal): Promise<void> {
    await Promise.all([this.o.notifications.stop(deadline), this.o.chunks.stop(deadline)]);
  }

  /** For readiness: both consumers running and their queue reachable. */
  health(): { ok: boolean; detail?: string } {
    const problems = [this.o.notifications, this.o.chunks].flatMap((queue) => {
      const health = queue.health();
      return health.ok ? [] : [`${queue.queueName}: ${health.detail ?? 'not ready'}`];
    });
    return problems.length === 0 ? { ok: true } : { ok: false, detail: problems.join('; ') };
  }

  /** Job counts by state and the oldest waiting job's age, refreshed at each scrape. */
  async collectMetrics(): Promise<void> {
    const now = Date.now();
    let oldest: number | undefined;
    for (const queue of [this.o.notifications, this.o.chunks]) {
      const counts = await queue.counts();
      for (const [state, count] of Object.entries(counts)) this.o.metrics.queueJobs.set({ queue: queue.queueName, state }, count);
      const since = await queue.oldestWaitingSince();
      if (since !== undefined) oldest = Math.min(oldest ?? since, since);
    }
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
