// Removes from the registry the devices whose tokens APNs refused for good, and says so on the bus.
import type { EventBus, HeraldEvents } from '../events.js';
import type { Service } from '../lib/service.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeviceRegistry } from './device-registry.js';

/**
 * APNs reasons after which a token never works again: 410 Unregistered (the app was
 * removed or the user turned notifications off) and 400 BadDeviceToken. Others, such as
 * DeviceTokenNotForTopic, say the request was wrong, not the device, and keep it.
 */
export const PRUNED_APNS_REASONS: ReadonlySet<string> = new Set(['Unregistered', 'BadDeviceToken']);

export interface PruneInvalidTokensOptions {
  events: EventBus;
  registry: DeviceRegistry;
  metrics: Pick<Metrics, 'devicesRemoved'>;
  log: Logger;
}

/**
 * On `apns.token_invalid` with a pruned reason: removes the device and emits
 * `device.removed` (the `device_removed` webhook), counted in herald_devices_removed_total.
 * A token that was not registered (sent to directly), or was registered again after
 * APNs' timestamp of the refusal, removes nothing and emits nothing.
 */
export class PruneInvalidTokens implements Service {
  readonly name = 'device-pruning';
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly o: PruneInvalidTokensOptions) {}

  async start(): Promise<void> {
    this.unsubscribe = this.o.events.on('apns.token_invalid', (e) => {
      if (!PRUNED_APNS_REASONS.has(e.reason)) return;
      const done = this.prune(e).finally(() => this.pending.delete(done));
      this.pending.add(done);
    });
  }

  /** Stops listening, then waits (within the deadline) for removals under way. */
  async stop(deadline: AbortSignal): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const aborted = new Promise<void>((resolve) => deadline.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([Promise.all(this.pending), aborted]);
  }

  private async prune(e: HeraldEvents['apns.token_invalid']): Promise<void> {
    try {
      // APNs dates an Unregistered: a device registered again since then has a new lease of life.
      if (e.timestamp !== undefined) {
        const current = await this.o.registry.get(e.app, e.token);
        if (!current || current.updatedAt > e.timestamp) return;
      }
      const removed = await this.o.registry.remove(e.app, e.token);
      if (!removed) return;
      this.o.metrics.devicesRemoved.inc({ app: e.app, reason: e.reason });
      this.o.log.info({ app: e.app, notification: e.notificationId, reason: e.reason }, 'device removed: token refused by APNs');
      this.o.events.emit('device.removed', { app: e.app, token: removed.token, userId: removed.userId, reason: e.reason });
    } catch (err) {
      // Not retried: the next notification to this token is refused again, and prunes it then.
      this.o.log.warn({ app: e.app, reason: e.reason, err }, 'device not removed: registry unavailable');
    }
  }
}
