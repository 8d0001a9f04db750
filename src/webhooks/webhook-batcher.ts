import type { AppStore } from '../apps/app-store.js';
import { hmacSha256Hex } from '../lib/hmac.js';
import type { WebhookEvent } from './webhook-event.js';
import type { WebhookJob } from './webhook-job.js';

/** A batch this large is closed at once rather than waiting out the window, to bound body size. */
export const MAX_EVENTS_PER_BATCH = 500;

export interface WebhookBatcherOptions {
  apps: AppStore;
  /** How long a batch stays open after its first event; 0 closes it on the next turn of the event loop. */
  batchMs: number;
  /** Hands a closed, signed batch to the delivery queue. */
  enqueue: (job: WebhookJob) => Promise<void>;
  onEnqueueError: (job: WebhookJob, err: unknown) => void;
  now?: () => number;
}

interface OpenBatch {
  events: WebhookEvent[];
  cancelTimer: () => void;
}

/**
 * Collects each app's events for `batchMs`, then signs one body per configured
 * webhook holding only the events that webhook asked for (Pusher's per-webhook
 * event types), so a receiver never sees events it did not subscribe to.
 */
export class WebhookBatcher {
  private readonly open = new Map<string, OpenBatch>();
  private readonly pending = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly options: WebhookBatcherOptions) {
    this.now = options.now ?? Date.now;
  }

  add(appId: string, event: WebhookEvent): void {
    const app = this.options.apps.byId(appId);
    if (!app || !app.webhooks.some((hook) => hook.events.includes(event.name))) return;
    let batch = this.open.get(appId);
    if (!batch) {
      batch = { events: [], cancelTimer: this.closeLater(appId) };
      this.open.set(appId, batch);
    }
    batch.events.push(event);
    if (batch.events.length >= MAX_EVENTS_PER_BATCH) this.close(appId);
  }

  /** Closes every open batch now and waits until each is handed to the queue (shutdown). */
  async flush(): Promise<void> {
    for (const appId of [...this.open.keys()]) this.close(appId);
    await Promise.all([...this.pending]);
  }

  private close(appId: string): void {
    const batch = this.open.get(appId);
    if (!batch) return;
    this.open.delete(appId);
    batch.cancelTimer();
    for (const job of this.sign(appId, batch.events)) {
      const enqueued = this.options.enqueue(job).catch((err: unknown) => this.options.onEnqueueError(job, err));
      this.pending.add(enqueued);
      void enqueued.finally(() => this.pending.delete(enqueued));
    }
  }

  private closeLater(appId: string): () => void {
    const close = (): void => this.close(appId);
    if (this.options.batchMs === 0) {
      const immediate = setImmediate(close);
      return () => clearImmediate(immediate);
    }
    const timer = setTimeout(close, this.options.batchMs);
    return () => clearTimeout(timer);
  }

  private sign(appId: string, events: readonly WebhookEvent[]): WebhookJob[] {
    const app = this.options.apps.byId(appId);
    if (!app) return [];
    const timeMs = this.now();
    return app.webhooks.flatMap((hook) => {
      const selected = events.filter((event) => hook.events.includes(event.name));
      if (selected.length === 0) return [];
      const body = JSON.stringify({ time_ms: timeMs, events: selected });
      return [
        {
          v: 1,
          app: app.id,
          url: hook.url,
          body,
          key: app.key,
          signature: hmacSha256Hex(app.secret, body),
          createdAt: timeMs,
          events: [...new Set(selected.map((event) => event.name))],
        } satisfies WebhookJob,
      ];
    });
  }
}
