import type { App } from '../apps/app-store.js';
import type { Metrics } from '../metrics/metrics.js';
import { checkForApp } from './check-for-app.js';
import type { RealtimeCheck } from './ports.js';
import type { Notification } from './contract/notification-schema.js';
import { parseNotification } from './contract/parse-notification.js';
import type { QueueDriver } from '../queue/queue-driver.js';
import type { EventBus } from '../events.js';
import { notifyJobId } from './contract/job-ids.js';
import type { NotificationRef, StoredStatus, StatusStore } from './status/status-store.js';

export type AcceptResult =
  | { status: 'accepted'; id: string }
  /** Known id of this app: nothing was queued. */
  | { status: 'duplicate'; id: string }
  | { status: 'invalid'; error: string; path: string };

export interface AcceptOptions {
  /** The id of a notification that has none (HTTP: derived from the request's signature, so a replay repeats it). */
  id?: string;
}

export interface NotificationServiceOptions {
  queue: QueueDriver<Notification>;
  store: StatusStore;
  events: EventBus;
  metrics: Metrics;
  chunkSize: number;
  checkRealtime: RealtimeCheck;
  now?: () => number;
}

/**
 * Takes notifications in (HTTP API, CLI) and answers their status. Validation is
 * complete before anything is queued: a refused body queues nothing.
 */
export class NotificationService {
  private readonly now: () => number;

  constructor(private readonly o: NotificationServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  /**
   * Ids are per app: another app's notification with the same id is neither seen nor
   * touched. Throws when the queue or the store fails (nothing may have been queued; the
   * same id makes a retry safe).
   */
  async accept(app: App, body: unknown, options: AcceptOptions = {}): Promise<AcceptResult> {
    const given = options.id;
    const checked = parseNotification(body, { now: this.now, ...(given === undefined ? {} : { generateId: () => given }) });
    if (!checked.ok) {
      if (checked.limit) this.o.metrics.inputLimitRefusals.inc({ reason: checked.limit, type: 'http' });
      return { status: 'invalid', error: checked.error, path: checked.path };
    }
    const n = checked.notification;
    const problem = checkForApp(n, app, this.o.checkRealtime);
    if (problem) return { status: 'invalid', ...problem };

    const ref = { app: app.id, id: n.id };
    if (await this.o.store.known(ref)) return this.duplicate(ref);
    const sendAt = n.sendAt === undefined ? 0 : Date.parse(n.sendAt);
    const delayMs = Math.max(0, sendAt - this.now());
    // Queued before the record is written: a job without a record is whole (the worker
    // creates it), a record without a job would never be sent. Job id and record are both
    // named by app and id, so neither can meet another app's notification.
    const queued = await this.o.queue.enqueue(notifyJobId(ref), n, delayMs > 0 ? { delayMs } : {});
    const tokens = n.apns?.tokens.length ?? 0;
    const created = await this.o.store.create({ ...ref, createdAt: this.now(), tokens, chunks: Math.ceil(tokens / this.o.chunkSize), notBefore: sendAt });
    if (created.created) {
      this.o.metrics.notifications.inc({ app: app.id, status: 'accepted' });
      this.o.events.emit('notification.accepted', { app: app.id, id: n.id });
    }
    // The worker may have created the record first; what counts is whether this call queued the job.
    if (queued.duplicate) return this.duplicate(ref);
    return { status: 'accepted', id: n.id };
  }

  /** The status of one of `app`'s notifications. */
  async status(app: App, id: string): Promise<StoredStatus | undefined> {
    return this.o.store.get({ app: app.id, id });
  }

  private duplicate(ref: NotificationRef): AcceptResult {
    this.o.metrics.notifications.inc({ app: ref.app, status: 'duplicate' });
    return { status: 'duplicate', id: ref.id };
  }
}
