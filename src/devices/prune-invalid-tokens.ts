// Removes from the registry the devices whose tokens a push provider refused for good, and says so on the bus.
import type { EventBus, HeraldEvents } from '../events.js';
import type { Service } from '../lib/service.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Device, DevicePlatform, DeviceRegistry } from './device-registry.js';

/**
 * APNs reasons after which a token never works again: 410 Unregistered (the app was
 * removed or the user turned notifications off) and 400 BadDeviceToken. Others, such as
 * DeviceTokenNotForTopic, say the request was wrong, not the device, and keep it.
 */
export const PRUNED_APNS_REASONS: ReadonlySet<string> = new Set(['Unregistered', 'BadDeviceToken']);

/**
 * FCM reasons the provider raises `fcm.token_invalid` for, each final for the token:
 * Unregistered (404 UNREGISTERED), InvalidArgument (400 naming `message.token`),
 * SenderIdMismatch (the token belongs to another Firebase project) and BadToken (not a
 * registration token at all, refused before sending).
 */
export const PRUNED_FCM_REASONS: ReadonlySet<string> = new Set(['Unregistered', 'InvalidArgument', 'SenderIdMismatch', 'BadToken']);

/**
 * Web Push: 404 NotFound and 410 Gone, the push service saying the subscription expired
 * or was withdrawn. BadSubscription and ForbiddenEndpoint are kept: the registry checks
 * subscriptions when they are registered, and whether an endpoint is allowed depends on
 * `webpush.allowPrivateEndpoints`, which the configuration may change.
 */
export const PRUNED_WEBPUSH_REASONS: ReadonlySet<string> = new Set(['NotFound', 'Gone']);

export interface PruneInvalidTokensOptions {
  events: EventBus;
  registry: DeviceRegistry;
  metrics: Pick<Metrics, 'devicesRemoved'>;
  log: Logger;
}

/** One refusal, whichever provider raised it, with what still has to hold for the device to be removed. */
interface Refusal {
  app: string;
  notificationId: string;
  token: string;
  reason: string;
  platform: DevicePlatform;
  /** The provider's name in logs. */
  provider: string;
  /** False when the device now in the registry is no longer the one that was refused. */
  stillRefused?: (device: Device) => boolean;
}

/**
 * On `apns.token_invalid`, `fcm.token_invalid` or `webpush.subscription_invalid` with a
 * pruned reason: removes the device and emits `device.removed` (the `device_removed`
 * webhook), counted in herald_devices_removed_total. Removes nothing, and emits nothing,
 * for a token that was not registered (sent to directly), is registered for another
 * platform, or was registered again since the refusal (after APNs' timestamp; a Web Push
 * token now naming another endpoint).
 */
export class PruneInvalidTokens implements Service {
  readonly name = 'device-pruning';
  private unsubscribe: Array<() => void> = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly o: PruneInvalidTokensOptions) {}

  async start(): Promise<void> {
    const { events } = this.o;
    this.unsubscribe = [
      events.on('apns.token_invalid', (e) => {
        if (PRUNED_APNS_REASONS.has(e.reason)) this.track(Object.assign(base(e), { platform: 'apns' as const, provider: 'APNs' }, apnsTimestamp(e)));
      }),
      events.on('fcm.token_invalid', (e) => {
        if (PRUNED_FCM_REASONS.has(e.reason)) this.track(Object.assign(base(e), { platform: 'fcm' as const, provider: 'FCM' }));
      }),
      events.on('webpush.subscription_invalid', (e) => {
        if (PRUNED_WEBPUSH_REASONS.has(e.reason)) this.track(Object.assign(base(e), { platform: 'web' as const, provider: 'the push service' }, sameEndpoint(e.endpoint)));
      }),
    ];
  }

  /** Stops listening, then waits (within the deadline) for removals under way. */
  async stop(deadline: AbortSignal): Promise<void> {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    const aborted = new Promise<void>((resolve) => deadline.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([Promise.all(this.pending), aborted]);
  }

  private track(refusal: Refusal): void {
    const done = this.prune(refusal).finally(() => this.pending.delete(done));
    this.pending.add(done);
  }

  private async prune(r: Refusal): Promise<void> {
    try {
      // Read first: the registry keys devices by token alone, so a token of another platform must stay.
      // A registration landing between this read and the removal is lost; the window is one round trip.
      const current = await this.o.registry.get(r.app, r.token);
      if (!current || current.platform !== r.platform || r.stillRefused?.(current) === false) return;
      const removed = await this.o.registry.remove(r.app, r.token);
      if (!removed) return;
      this.o.metrics.devicesRemoved.inc({ app: r.app, reason: r.reason });
      this.o.log.info({ app: r.app, notification: r.notificationId, platform: r.platform, reason: r.reason }, `device removed: token refused by ${r.provider}`);
      this.o.events.emit('device.removed', { app: r.app, token: removed.token, userId: removed.userId, reason: r.reason });
    } catch (err) {
      // Not retried: the next notification to this token is refused again, and prunes it then.
      this.o.log.warn({ app: r.app, reason: r.reason, err }, 'device not removed: registry unavailable');
    }
  }
}

function base(e: { app: string; notificationId: string; token: string; reason: string }): Pick<Refusal, 'app' | 'notificationId' | 'token' | 'reason'> {
  return { app: e.app, notificationId: e.notificationId, token: e.token, reason: e.reason };
}

/** APNs dates an Unregistered: a device registered again since then has a new lease of life. */
function apnsTimestamp(e: HeraldEvents['apns.token_invalid']): Pick<Refusal, 'stillRefused'> {
  const { timestamp } = e;
  return timestamp === undefined ? {} : { stillRefused: (device) => device.updatedAt <= timestamp };
}

/** A Web Push token is an id the client chose: re-subscribed since, it names a new endpoint that was never refused. */
function sameEndpoint(endpoint: string | undefined): Pick<Refusal, 'stillRefused'> {
  if (endpoint === undefined) return {};
  return { stillRefused: (device) => device.subscription !== undefined && canonicalUrl(device.subscription.endpoint) === canonicalUrl(endpoint) };
}

function canonicalUrl(url: string): string {
  return URL.canParse(url) ? new URL(url).href : url;
}
