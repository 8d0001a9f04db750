import type { App } from '../apps/app-store.js';
import { serializeJson } from '../lib/safe-json.js';
import type { Serialized } from '../lib/safe-json.js';
import { prepareNotification } from '../providers/apns/payload.js';
import type { FcmPart, Notification } from './contract/notification-schema.js';
import type { FcmMessageFields } from '../providers/provider.js';
import { prepareFcmMessage } from '../providers/fcm/fcm-message.js';
import type { NotificationProblem } from './contract/parse-notification.js';
import type { RealtimeCheck } from './ports.js';
import { userChannel } from './ports.js';

/** Where each of APNs' refusal reasons points in a notification. */
const apnsReasonPaths: Record<string, string> = {
  InvalidPushType: 'apns.pushType',
  MissingTopic: 'apns.topic',
  BadPriority: 'apns.priority',
  BadExpirationDate: 'apns.expiration',
  BadCollapseId: 'apns.collapseId',
};

/**
 * The checks that need the app: it has each platform's credentials for explicit tokens
 * (and one platform for `to`), the FCM message is within FCM's limits,
 * the APNs request can be built (push type, priority, aps dictionary, payload size),
 * and the realtime event is within the app's limits. The HTTP API refuses with these
 * rather than accepting a notification that cannot go out.
 */
export function checkForApp(notification: Notification, app: App, checkRealtime: RealtimeCheck): NotificationProblem | undefined {
  if (notification.app !== app.id) return { error: `must be the app of the URL ('${app.id}')`, path: 'app' };
  const { apns, fcm, webpush, realtime, to } = notification;
  // Explicit tokens need their platform's credentials; `to` needs one platform its devices can be reached on.
  if (apns && apns.tokens.length > 0 && !app.apns) return { error: `app '${app.id}' has no APNs credentials configured`, path: 'apns' };
  if (fcm && fcm.tokens.length > 0 && !app.fcm) return { error: `app '${app.id}' has no FCM credentials configured`, path: 'fcm' };
  if (to && !((apns && app.apns) || (fcm && app.fcm) || (webpush && app.webpush))) {
    return { error: `app '${app.id}' has no push credentials (APNs, FCM or Web Push) for the parts of this notification`, path: 'to' };
  }
  if (apns && app.apns) {
    const prepared = prepareNotification(apnsFields(apns), app.apns.topic);
    if (!prepared.ok) {
      return { error: `${prepared.problem.detail} (${prepared.problem.reason})`, path: apnsReasonPaths[prepared.problem.reason] ?? 'apns.payload' };
    }
  }
  if (fcm && app.fcm) {
    // The message as FCM will get it (its 4 KB limit is on the whole message, not on a field).
    const prepared = prepareFcmMessage({ app: app.id, notificationId: notification.id, tokens: [], payload: {}, fcm: fcmFields(fcm) });
    if (!prepared.ok) return { error: `${prepared.detail} (${prepared.reason})`, path: 'fcm' };
  }
  if (realtime) {
    const data = eventData(realtime.data);
    if (!data.ok) return { error: data.error, path: 'realtime.data' };
    // Users' channels are published in groups within the app's limits; one stands for them all here.
    const channels = realtime.channels ?? to?.users?.slice(0, 1).map(userChannel) ?? [];
    const refused = checkRealtime(app, { channels, name: realtime.event, data: data.json, socketId: realtime.socketId });
    if (refused) return { error: refused.message, path: refused.reason === 'too_large' ? 'realtime.data' : 'realtime' };
  }
  return undefined;
}

/**
 * Pusher event data is a string: strings go as they are, anything else as JSON (what the
 * pusher SDK does). Never throws: data that cannot be serialised is a problem value.
 */
export function eventData(data: unknown): Serialized {
  return typeof data === 'string' ? { ok: true, json: data } : serializeJson(data);
}

/** The APNs request fields of the notification, without the tokens. */
export function apnsFields(apns: Omit<NonNullable<Notification['apns']>, 'tokens'>): {
  payload: Record<string, unknown>;
  pushType?: string;
  topic?: string;
  priority?: number;
  expiration?: number;
  collapseId?: string;
} {
  return {
    payload: apns.payload,
    ...(apns.pushType === undefined ? {} : { pushType: apns.pushType }),
    ...(apns.topic === undefined ? {} : { topic: apns.topic }),
    ...(apns.priority === undefined ? {} : { priority: apns.priority }),
    ...(apns.expiration === undefined ? {} : { expiration: apns.expiration }),
    ...(apns.collapseId === undefined ? {} : { collapseId: apns.collapseId }),
  };
}

/** The contract's FCM part in FCM HTTP v1's spelling (ttl as a Duration, collapse_key). */
export function fcmFields(fcm: Omit<FcmPart, 'tokens'>): FcmMessageFields {
  const { android, notification } = fcm;
  const fields: FcmMessageFields = {};
  if (notification !== undefined) fields.notification = defined({ title: notification.title, body: notification.body, image: notification.image });
  if (fcm.data !== undefined) fields.data = fcm.data;
  if (android) {
    const config: NonNullable<FcmMessageFields['android']> = {};
    if (android.priority !== undefined) config.priority = android.priority;
    if (android.ttl !== undefined) config.ttl = `${android.ttl}s`;
    if (android.collapseKey !== undefined) config.collapse_key = android.collapseKey;
    fields.android = config;
  }
  return fields;
}

function defined<T extends Record<string, string | undefined>>(value: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: string };
}
