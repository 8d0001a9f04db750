import type { App } from '../apps/app-store.js';
import type { Metrics } from '../metrics/metrics.js';
import { checkForApp } from '../notification/check-for-app.js';
import type { Notification } from '../notification/notification-schema.js';
import { parseNotification } from '../notification/parse-notification.js';
import type { QueueDriver } from '../queue/queue-driver.js';
import type { EventBus } from './events.js';
import type { NotificationStatus, StatusStore } from './status-store.js';

export type AcceptResult =
  | { status: 'accepted'; id: string }
  /** Known id of this app: nothing was queued. */
  | { status: 'duplicate'; id: string }
  | { status: 'invalid'; error: string; path: string }
  /** The id belongs to another app's notification. */
  | { status: 'conflict'; error: string };

export interface NotificationServiceOptions {
  queue: QueueDriver<Notification>;
  store: StatusStore;
  events: EventBus;
  metrics: Metrics;
  chunkSize: number;
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

  async accept(app: App, body: unknown): Promise<AcceptResult> {
    const checked = parseNotification(body);
    if (!checked.ok) return { status: 'invalid', error: checked.error, path: checked.path };
    const n = checked.notification;
    const problem = checkForApp(n, app);
    if (problem) return { status: 'invalid', ...problem };

    const owner = await this.o.store.owner(n.id);
    if (owner !== undefined) return this.repeated(app, n.id, owner);
    const sendAt = n.sendAt === undefined ? 0 : Date.parse(n.sendAt);
    const delayMs = Math.max(0, sendAt - this.now());
    const queued = await this.o.queue.enqueue(n.id, n, delayMs > 0 ? { delayMs } : {});
    const tokens = n.apns?.tokens.length ?? 0;
    const created = await this.o.store.create({ id: n.id, app: app.id, createdAt: this.now(), tokens, chunks: Math.ceil(tokens / this.o.chunkSize), notBefore: sendAt });
    if (created.created) {
      this.o.metrics.notifications.inc({ app: app.id, status: 'accepted' });
      this.o.events.emit('notification.accepted', { app: app.id, id: n.id });
    } else if (created.app !== app.id) {
      return this.repeated(app, n.id, created.app);
    }
    // The worker may have created the record first; what counts is whether this call queued the job.
    if (queued.duplicate) return this.repeated(app, n.id, app.id);
    return { status: 'accepted', id: n.id };
  }

  /** The status of one of `app`'s notifications; another app's id reads as unknown. */
  async status(app: App, id: string): Promise<NotificationStatus | undefined> {
    const status = await this.o.store.get(id);
    return status?.app === app.id ? status : undefined;
  }

  private repeated(app: App, id: string, owner: string): AcceptResult {
    if (owner !== app.id) return { status: 'conflict', error: `notification id '${id}' is already used by another app` };
    this.o.metrics.notifications.inc({ app: app.id, status: 'duplicate' });
    return { status: 'duplicate', id };
  }
}
