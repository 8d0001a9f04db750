import type { EventBus, HeraldEvents } from '../events.js';
import type { WebhookEventName } from '../config/schema.js';

/**
 * One entry of a webhook body's `events` array, as Pusher defines it (snake_case
 * fields), plus Herald's own notification and APNs events.
 */
export type WebhookEvent =
  | { name: 'channel_occupied' | 'channel_vacated' | 'cache_miss'; channel: string }
  | { name: 'member_added' | 'member_removed'; channel: string; user_id: string }
  | { name: 'client_event'; channel: string; event: string; data: string; socket_id: string; user_id?: string }
  | { name: 'subscription_count'; channel: string; subscription_count: number }
  | { name: 'apns_token_invalid'; token: string; reason: string; timestamp: number; notification_id: string }
  | { name: 'device_removed'; token: string; user_id: string; reason: string }
  | { name: 'notification_completed'; notification_id: string; sent: number; failed: number }
  | { name: 'notification_failed'; notification_id: string; sent: number; failed: number; reason: string };

// Compile-time check that every event name is one the configuration accepts.
type Unknown = Exclude<WebhookEvent['name'], WebhookEventName>;
const everyNameIsConfigurable: Unknown extends never ? true : never = true;
void everyNameIsConfigurable;

export type WebhookEventSink = (app: string, event: WebhookEvent) => void;

/**
 * Subscribes to the bus and turns each event a webhook can carry into its Pusher
 * shape. Returns the unsubscribe function. `now` dates token-invalid events that
 * APNs did not timestamp (a bad token is invalid as of when Herald learned it).
 */
export function subscribeWebhookEvents(bus: EventBus, sink: WebhookEventSink, now: () => number = Date.now): () => void {
  const subscriptions = [
    bus.on('channel.occupied', (e) => sink(e.app, { name: 'channel_occupied', channel: e.channel })),
    bus.on('channel.vacated', (e) => sink(e.app, { name: 'channel_vacated', channel: e.channel })),
    bus.on('cache.miss', (e) => sink(e.app, { name: 'cache_miss', channel: e.channel })),
    bus.on('member.added', (e) => sink(e.app, { name: 'member_added', channel: e.channel, user_id: e.userId })),
    bus.on('member.removed', (e) => sink(e.app, { name: 'member_removed', channel: e.channel, user_id: e.userId })),
    bus.on('client.event', (e) => sink(e.app, clientEvent(e))),
    bus.on('subscription.count', (e) =>
      sink(e.app, { name: 'subscription_count', channel: e.channel, subscription_count: e.count }),
    ),
    bus.on('apns.token_invalid', (e) =>
      sink(e.app, {
        name: 'apns_token_invalid',
        token: e.token,
        reason: e.reason,
        timestamp: e.timestamp ?? now(),
        notification_id: e.notificationId,
      }),
    ),
    bus.on('device.removed', (e) => sink(e.app, { name: 'device_removed', token: e.token, user_id: e.userId, reason: e.reason })),
    bus.on('notification.completed', (e) =>
      sink(e.app, { name: 'notification_completed', notification_id: e.id, sent: e.sent, failed: e.failed }),
    ),
    bus.on('notification.failed', (e) =>
      sink(e.app, { name: 'notification_failed', notification_id: e.id, sent: e.sent, failed: e.failed, reason: e.reason }),
    ),
  ];
  return () => {
    for (const unsubscribe of subscriptions) unsubscribe();
  };
}

/** Pusher delivers a client event's data as a string, whatever the client sent. */
function clientEvent(e: HeraldEvents['client.event']): WebhookEvent {
  const data = typeof e.data === 'string' ? e.data : (e.dataJson ?? JSON.stringify(e.data) ?? '');
  const event: WebhookEvent = { name: 'client_event', channel: e.channel, event: e.event, data, socket_id: e.socketId };
  if (e.userId !== undefined) event.user_id = e.userId;
  return event;
}
