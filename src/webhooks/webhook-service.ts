import { randomUUID } from 'node:crypto';
import type { AppStore } from '../apps/app-store.js';
import type { HeraldConfig } from '../config/load.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Service } from '../lib/service.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { JobResult, QueueDriver, QueueJob } from '../queue/queue-driver.js';
import type { EventBus } from '../events.js';
import type { DeadLetterFilter, DeadLetterStore } from './dead-letter-store.js';
import { OccupancyCoalescer, isOccupancyEvent } from './occupancy-coalescer.js';
import { WebhookBatcher } from './webhook-batcher.js';
import { subscribeWebhookEvents } from './webhook-event.js';
import type { WebhookEvent } from './webhook-event.js';
import type { DeadLetter, WebhookJob } from './webhook-job.js';
import { postWebhook } from './webhook-post.js';
import type { Fetch } from './webhook-post.js';

export type WebhookSettings = HeraldConfig['webhooks'];

export interface WebhookServiceOptions {
  apps: AppStore;
  events: EventBus;
  /** The `webhooks` queue, of the same kind (memory or BullMQ) as the notifications queue. */
  queue: QueueDriver<WebhookJob>;
  deadLetters: DeadLetterStore;
  settings: WebhookSettings;
  log: Logger;
  metrics: Metrics;
  /** Parallel POSTs from this process. */
  concurrency?: number;
  fetch?: Fetch;
}

/** The failure reason prefix of a job whose batch went to the dead-letter list. */
export const DEAD_LETTERED = 'dead-lettered: ';

/**
 * Construct it before starting its queue (it registers the queue's consumer), and
 * start it after the queue, so that at shutdown it stops first and flushes its open
 * batches into a queue that still accepts them.
 *
 * Bus events → per-app batches → signed jobs on the webhook queue → POSTs with
 * exponential backoff and jitter → after the last attempt, the dead-letter list.
 */
export class WebhookService implements Service {
  readonly name = 'webhooks';
  private readonly batcher: WebhookBatcher;
  /** Absent with `occupancyWindowMs` 0: occupancy events are batched like the rest. */
  private readonly coalescer: OccupancyCoalescer | undefined;
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: WebhookServiceOptions) {
    this.log = options.log;
    this.batcher = new WebhookBatcher({
      apps: options.apps,
      batchMs: options.settings.batchMs,
      enqueue: async (job) => {
        await options.queue.enqueue(randomUUID(), job);
      },
      onEnqueueError: (job, err) =>
        this.log.error({ app: job.app, events: job.events, target: targetOf(job.url), err }, 'webhook batch could not be queued'),
    });
    const { occupancyWindowMs, maxOccupancyEventsPerSecond } = options.settings;
    this.coalescer =
      occupancyWindowMs > 0
        ? new OccupancyCoalescer({
            windowMs: occupancyWindowMs,
            maxPerSecond: maxOccupancyEventsPerSecond,
            emit: (app, event) => this.batcher.add(app, event),
            onCoalesced: (app, count) => options.metrics.webhookOccupancyEvents.inc({ app, status: 'coalesced' }, count),
            onDeferred: (app, count) => options.metrics.webhookOccupancyEvents.inc({ app, status: 'deferred' }, count),
          })
        : undefined;
    // Registered now, before the queue starts: a driver may only begin consuming at its own start().
    options.queue.consume((job, signal) => this.deliver(job, signal), { concurrency: options.concurrency ?? 8 });
  }

  async start(): Promise<void> {
    this.unsubscribe = subscribeWebhookEvents(this.options.events, (app, event) => this.route(app, event));
    await this.refreshDeadLetterGauge();
  }

  async stop(_deadline: AbortSignal): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.coalescer?.flush();
    await this.batcher.flush();
  }

  /** Occupancy events a webhook wants go through the coalescer; the rest straight to a batch. */
  private route(app: string, event: WebhookEvent): void {
    const wanted = (): boolean => this.options.apps.byId(app)?.webhooks.some((hook) => hook.events.includes(event.name)) ?? false;
    if (this.coalescer && isOccupancyEvent(event)) {
      if (wanted()) this.coalescer.add(app, event);
    } else this.batcher.add(app, event);
  }

  /**
   * The webhook queue's jobs by state and the dead-letter size, at each scrape (the
   * Redis list is shared, so other processes' dead letters show too).
   */
  async collectMetrics(): Promise<void> {
    const counts = await this.options.queue.counts();
    for (const [state, count] of Object.entries(counts)) this.options.metrics.queueJobs.set({ queue: this.options.queue.queueName, state }, count);
    this.options.metrics.webhookDeadLetters.set(await this.options.deadLetters.size());
  }

  async listDeadLetters(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    return this.options.deadLetters.list(filter);
  }

  /** Moves matching dead letters back onto the queue with a fresh attempt count; returns them. */
  async replayDeadLetters(filter: DeadLetterFilter): Promise<DeadLetter[]> {
    const replayed = await replayDeadLetters(this.options.deadLetters, this.options.queue, filter);
    if (replayed.length > 0) this.log.info({ app: filter.app, count: replayed.length }, 'webhook dead letters replayed');
    await this.refreshDeadLetterGauge();
    return replayed;
  }

  private async deliver(queued: QueueJob<WebhookJob>, signal: AbortSignal): Promise<JobResult> {
    const job = queued.data;
    const { settings, metrics } = this.options;
    const hook = this.options.apps.byId(job.app)?.webhooks.find((candidate) => candidate.url === job.url);
    if (!hook) return this.toDeadLetters(queued, job, 'webhook is no longer configured');

    const outcome = await postWebhook(job, hook.headers, settings.timeoutMs, signal, this.options.fetch);
    this.options.events.emit('webhook.sent', { app: job.app, url: targetOf(job.url), events: job.events, ok: outcome.ok });
    if (outcome.ok) {
      metrics.webhookDeliveries.inc({ app: job.app, status: 'delivered' });
      this.log.debug({ app: job.app, target: targetOf(job.url), events: job.events, attempt: queued.attempt }, 'webhook delivered');
      return { type: 'done' };
    }
    // Stopping is not the receiver's fault: hand the job back without counting an attempt.
    if (signal.aborted) return { type: 'delay', afterMs: 0 };
    metrics.webhookDeliveries.inc({ app: job.app, status: 'failed' });
    if (queued.attempt < settings.maxAttempts) {
      const afterMs = backoffDelay(queued.attempt, { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs });
      this.log.info(
        { app: job.app, target: targetOf(job.url), attempt: queued.attempt, maxAttempts: settings.maxAttempts, error: outcome.error, retryInMs: afterMs },
        'webhook delivery failed: will retry',
      );
      return { type: 'failed-attempt', afterMs, reason: outcome.error };
    }
    return this.toDeadLetters(queued, job, outcome.error);
  }

  private async toDeadLetters(queued: QueueJob<WebhookJob>, job: WebhookJob, error: string): Promise<JobResult> {
    const entry: DeadLetter = { id: queued.id, job, attempts: queued.attempt, lastError: error, failedAt: Date.now() };
    const { dropped, droppedForBytes } = await this.options.deadLetters.add(entry);
    if (dropped > droppedForBytes) this.options.metrics.webhookDeadLettersDropped.inc({ reason: 'count' }, dropped - droppedForBytes);
    if (droppedForBytes > 0) this.options.metrics.webhookDeadLettersDropped.inc({ reason: 'bytes' }, droppedForBytes);
    this.options.metrics.webhookDeliveries.inc({ app: job.app, status: 'dead' });
    this.log.warn(
      { app: job.app, target: targetOf(job.url), deadLetter: entry.id, events: job.events, attempts: queued.attempt, error },
      'webhook batch moved to the dead-letter list',
    );
    if (dropped > 0) this.log.error({ dropped, droppedForBytes }, 'webhook dead-letter list is full: oldest entries dropped');
    await this.refreshDeadLetterGauge();
    return { type: 'failed', reason: `${DEAD_LETTERED}${error}` };
  }

  private async refreshDeadLetterGauge(): Promise<void> {
    try {
      this.options.metrics.webhookDeadLetters.set(await this.options.deadLetters.size());
    } catch (err) {
      this.log.debug({ err }, 'webhook dead-letter size unavailable');
    }
  }
}

/**
 * Claims matching entries and enqueues each under a new job id (the old id may
 * still be known to the queue as failed). Used by the daemon and by the CLI
 * against a shared Redis.
 */
export async function replayDeadLetters(
  store: DeadLetterStore,
  queue: Pick<QueueDriver<WebhookJob>, 'enqueue'>,
  filter: DeadLetterFilter,
): Promise<DeadLetter[]> {
  const taken = await store.take(filter);
  const replayed: DeadLetter[] = [];
  for (const [index, entry] of taken.entries()) {
    try {
      await queue.enqueue(randomUUID(), entry.job);
      replayed.push(entry);
    } catch (err) {
      // Put back what could not be queued so nothing is lost, then report the failure.
      for (const rest of taken.slice(index)) await store.add(rest);
      throw err;
    }
  }
  return replayed;
}

/** What logs may show of a webhook URL: its origin. Paths and queries often carry tokens. */
export function targetOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '[invalid url]';
  }
}
