/**
 * The provider request of a chunk's tokens: the APNs fields, the FCM message fields or
 * the Web Push message with its subscriptions, whichever platform the chunk is of.
 */
import { apnsFields } from '../check-for-app.js';
import type { FcmMessageFields, ProviderKind, PushBatch, WebPushSubscription } from '../../providers/provider.js';
import type { ChunkJob } from './chunk-job.js';

export function chunkPlatformOf(chunk: ChunkJob): ProviderKind {
  return chunk.platform ?? 'apns';
}

/** Undefined when the chunk lacks its platform's part (parsing refuses such a job; this is the last guard). */
export function pushBatch(chunk: ChunkJob, tokens: readonly string[]): PushBatch | undefined {
  const base = { app: chunk.app, notificationId: chunk.notification, tokens };
  switch (chunkPlatformOf(chunk)) {
    case 'apns':
      return chunk.apns ? { ...base, ...apnsFields({ ...chunk.apns, tokens: [...tokens] }) } : undefined;
    case 'fcm':
      return chunk.fcm ? { ...base, payload: {}, fcm: fcmFields(chunk.fcm) } : undefined;
    case 'web': {
      if (!chunk.webpush) return undefined;
      const { subscriptions, data, ttl, urgency, topic } = chunk.webpush;
      const known = new Map<string, WebPushSubscription>();
      // A token without its subscription is left out: the provider rejects it UnknownSubscription.
      for (const token of tokens) {
        const subscription = subscriptions[token];
        if (subscription) known.set(token, subscription);
      }
      const web = { subscriptions: known, data, ...(ttl === undefined ? {} : { ttl }), ...(urgency === undefined ? {} : { urgency }), ...(topic === undefined ? {} : { topic }) };
      return { ...base, payload: {}, web };
    }
  }
}

/** The contract's FCM part in FCM HTTP v1's spelling (ttl as a Duration, collapse_key). */
export function fcmFields(fcm: NonNullable<ChunkJob['fcm']>): FcmMessageFields {
  const { android, notification } = fcm;
  const fields: FcmMessageFields = {
    ...(notification === undefined ? {} : { notification: defined({ title: notification.title, body: notification.body, image: notification.image }) }),
    ...(fcm.data === undefined ? {} : { data: fcm.data }),
  };
  if (android) {
    fields.android = {
      ...(android.priority === undefined ? {} : { priority: android.priority }),
      ...(android.ttl === undefined ? {} : { ttl: `${android.ttl}s` }),
      ...(android.collapseKey === undefined ? {} : { collapse_key: android.collapseKey }),
    };
  }
  return fields;
}

function defined<T extends Record<string, string | undefined>>(value: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: string };
}
