import type { Logger } from '../../log/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { EventBus } from '../../events.js';
import type { Finalization, NotificationRef, StatusStore, TokenCheckpoint } from '../status/status-store.js';

/**
 * Closes a notification once: whoever settles its last chunk (or fails it) is told so
 * by the store, and only that caller announces `notification.completed` / `.failed`.
 */
export class NotificationFinisher {
  constructor(
    private readonly o: { store: StatusStore; events: EventBus; metrics: Metrics; log: Logger; now?: () => number },
  ) {}

  /**
   * `chunk` undefined: a notification without APNs chunks, finished once its realtime part is done.
   * `checkpoints`: the chunk's last token checkpoints, recorded in the same step.
   */
  async completeChunk(ref: NotificationRef, chunk: number | undefined, checkpoints?: readonly TokenCheckpoint[]): Promise<void> {
    this.announce(ref.id, await this.o.store.completeChunk(ref, chunk, this.now(), checkpoints));
  }

  async fail(ref: NotificationRef, reason: string): Promise<void> {
    this.announce(ref.id, await this.o.store.fail(ref, reason, this.now()));
  }

  private announce(id: string, result: Finalization): void {
    if (!result.finished) return;
    const { app, sent, failed, state } = result;
    this.o.metrics.notifications.inc({ app, status: state });
    if (result.expired > 0) this.o.metrics.notifications.inc({ app, status: 'expired' });
    if (state === 'completed') {
      // Debug: a line per delivered notification costs more than its delivery's queue work; metrics and webhooks count them.
      this.o.log.debug({ app, notification: id, sent, failed, expired: result.expired }, 'notification completed');
      this.o.events.emit('notification.completed', { app, id, sent, failed });
    } else {
      const reason = result.reason ?? (result.expired > 0 ? 'every device token expired or failed' : 'no device token could be delivered');
      this.o.log.warn({ app, notification: id, sent, failed, expired: result.expired, reason }, 'notification failed');
      this.o.events.emit('notification.failed', { app, id, sent, failed, reason });
    }
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}
