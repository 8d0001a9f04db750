import { explicitCounts } from './pipeline/targets.js';
import type { App } from '../apps/app-store.js';
import type { Metrics } from '../metrics/metrics.js';
import { checkForApp } from './check-for-app.js';
import type { RealtimeCheck } from './ports.js';
import type { Notification } from './contract/notification-schema.js';
import type { GroupCommit } from './group-commit.js';
import { singleEnvelopeJobId } from './contract/envelope.js';
import type { Envelope } from './contract/envelope.js';
import { parseNotification } from './contract/parse-notification.js';
import type { QueueDriver } from '../queue/queue-driver.js';
import type { EventBus } from '../events.js';
import { notifyJobId } from './contract/job-ids.js';
import { CANCELLED } from './contract/status.js';
import type { NotificationRef, NotificationState, StoredStatus, StatusStore } from './status/status-store.js';

export type AcceptResult =
  | { status: 'accepted'; id: string }
  /** Known id of this app: nothing was queued. */
  | { status: 'duplicate'; id: string }
  | { status: 'invalid'; error: string; path: string };

export type CancelOutcome =
  | { status: 'cancelled' }
  | { status: 'unknown' }
  /** Started or finished already (a cancelled one is `failed`): nothing changed. */
  | { status: 'refused'; state: NotificationState };

export interface AcceptOptions {
  /** The id of a notification that has none (HTTP: derived from the request's signature, so a replay repeats it). */
  id?: string;
}

export interface NotificationServiceOptions {
  /** The `notifications` queue (of `notify` jobs other producers add): cancelling looks there for a job without a record. */
  queue: QueueDriver<Notification>;
  /** Writes accepted notifications (envelope jobs and status records, in groups). */
  commit: GroupCommit;
  /** The envelope queue of a notification's partition. */
  envelopeOf(ref: NotificationRef): QueueDriver<Envelope>;
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

    const sendAt = n.sendAt === undefined ? 0 : Date.parse(n.sendAt);
    const delayMs = Math.max(0, sendAt - this.now());
    const counts = explicitCounts(n, this.o.chunkSize);
    // Durable (envelope job and status record) before it is answered; a repeat of a known id queues a copy its worker skips.
    const committed = await this.o.commit.commit(n, { tokens: counts.tokens, chunks: counts.chunks, notBefore: sendAt, delayMs });
    if (committed.status === 'duplicate') return this.duplicate({ app: app.id, id: n.id });
    if (committed.created) {
      this.o.metrics.notifications.inc({ app: app.id, status: 'accepted' });
      this.o.events.emit('notification.accepted', { app: app.id, id: n.id });
    }
    return { status: 'accepted', id: n.id };
  }

  /** The status of one of `app`'s notifications. */
  async status(app: App, id: string): Promise<StoredStatus | undefined> {
    return this.o.store.get({ app: app.id, id });
  }

  /**
   * Cancels one of `app`'s notifications while it is still queued (a `sendAt` one not yet
   * due). The status record is the arbiter: once it says failed/cancelled no worker sends
   * it, so removing the queue job afterwards only spares a run, and may fail harmlessly.
   */
  async cancel(app: App, id: string): Promise<CancelOutcome> {
    const ref = { app: app.id, id };
    const jobId = notifyJobId(ref);
    let result = await this.o.store.cancel(ref, this.now());
    if (!result.cancelled && result.state === undefined) {
      // No record: a job another producer queued straight into BullMQ gets one when a worker runs it.
      const job = await this.o.queue.state(jobId);
      if (job === 'waiting' || job === 'delayed') result = await this.o.store.cancel(ref, this.now(), this.now());
    }
    if (!result.cancelled) return result.state === undefined ? { status: 'unknown' } : { status: 'refused', state: result.state };
    // A notification that travels alone (a `sendAt` one) has its own job, spared its run; one in a shared envelope is skipped by it.
    await this.o.queue.remove(jobId).catch(() => false);
    await this.o.envelopeOf(ref).remove(singleEnvelopeJobId(ref)).catch(() => false);
    // Finished as failed, so `accepted - finished` stays what is in flight and webhooks hear of it.
    this.o.metrics.notifications.inc({ app: app.id, status: 'failed' });
    this.o.events.emit('notification.failed', { app: app.id, id, sent: 0, failed: 0, reason: CANCELLED });
    return { status: 'cancelled' };
  }

  private duplicate(ref: NotificationRef): AcceptResult {
    this.o.metrics.notifications.inc({ app: ref.app, status: 'duplicate' });
    return { status: 'duplicate', id: ref.id };
  }
}
