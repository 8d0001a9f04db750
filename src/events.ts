import { EventEmitter } from 'node:events';

export interface ChannelRef {
  readonly app: string;
  readonly channel: string;
}

export interface MemberEvent extends ChannelRef {
  userId: string;
}

/**
 * Everything Herald announces. Publishers don't know the subscribers (webhooks,
 * metrics, logs); subscribers must ignore fields they don't use, so adding a field
 * never breaks one.
 */
export interface HeraldEvents {
  'connection.opened': { app: string; socketId: string; origin?: string };
  'connection.closed': { app: string; socketId: string; code: number };
  /** A socket proved its user with pusher:signin (once per socket). */
  'user.signed_in': { app: string; socketId: string; userId: string };
  /** Every subscription that succeeded (not only a channel's first), for the console. */
  'channel.subscribed': ChannelRef & { socketId: string };
  'channel.occupied': ChannelRef;
  'channel.vacated': ChannelRef;
  'member.added': MemberEvent;
  'member.removed': MemberEvent;
  /** `dataJson`: the JSON text of `data` exactly as the client sent it, so no one re-serializes caller data. */
  'client.event': ChannelRef & { event: string; data: unknown; dataJson?: string; socketId: string; userId?: string };
  'cache.miss': ChannelRef;
  'subscription.count': ChannelRef & { count: number };
  /** One webhook POST's outcome (`ok` false: it will be retried or dead-lettered). */
  'webhook.sent': { app: string; url: string; events: string[]; ok: boolean; status?: number };
  'notification.accepted': { app: string; id: string };
  'notification.completed': { app: string; id: string; sent: number; failed: number };
  'notification.failed': { app: string; id: string; sent: number; failed: number; reason: string };
  'apns.token_invalid': { app: string; notificationId: string; token: string; reason: string; timestamp?: number };
  /** The registry dropped a device a provider refused for good (`reason`: the provider's, e.g. Unregistered). */
  'device.removed': { app: string; token: string; userId: string; reason: string };
  /** FCM answered that a registration token is dead (UNREGISTERED, or INVALID_ARGUMENT about the token). */
  'fcm.token_invalid': { app: string; notificationId: string; token: string; reason: string };
  /**
   * A browser subscription is dead (push service 404/410) or unusable (malformed keys, forbidden endpoint): delete it.
   * `endpoint`: the push service URL that answered, so a subscription renewed under the same token since is kept.
   */
  'webpush.subscription_invalid': { app: string; notificationId: string; token: string; reason: string; endpoint?: string };
}

export type HeraldEventName = keyof HeraldEvents;
export type Listener<K extends HeraldEventName> = (payload: HeraldEvents[K]) => void;

/** The one in-process bus. A throwing subscriber is reported, never allowed to break the publisher. */
export class EventBus {
  private readonly emitter = new EventEmitter({ captureRejections: false });

  constructor(private readonly onListenerError: (event: string, err: unknown) => void = () => {}) {
    this.emitter.setMaxListeners(100);
  }

  on<K extends HeraldEventName>(event: K, listener: Listener<K>): () => void {
    const wrapped = (payload: HeraldEvents[K]): void => {
      try {
        listener(payload);
      } catch (err) {
        this.onListenerError(event, err);
      }
    };
    this.emitter.on(event, wrapped);
    return () => this.emitter.off(event, wrapped);
  }

  emit<K extends HeraldEventName>(event: K, payload: HeraldEvents[K]): void {
    this.emitter.emit(event, payload);
  }

  /** For tests: drop every subscriber of one event (or all). */
  clear(event?: HeraldEventName): void {
    if (event) this.emitter.removeAllListeners(event);
    else this.emitter.removeAllListeners();
  }
}
