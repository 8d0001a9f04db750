/**
 * The provider request of a chunk's tokens: the APNs fields, the FCM message fields or
 * the Web Push message with its subscriptions, whichever platform the chunk is of.
 */
import { apnsFields, fcmFields } from '../check-for-app.js';
import type { ProviderKind, PushBatch, WebPushSubscription } from '../../providers/provider.js';
import type { ChunkJob } from './chunk-job.js';

export function chunkPlatformOf(chunk: ChunkJob): ProviderKind {
  return chunk.platform ?? 'apns';
}

/** Undefined when the chunk lacks its platform's part (parsing refuses such a job; this is the last guard). */
export function pushBatch(chunk: ChunkJob, tokens: readonly string[]): PushBatch | undefined {
  const app = chunk.app;
  const notificationId = chunk.notification;
  switch (chunkPlatformOf(chunk)) {
    case 'apns':
      return chunk.apns ? { app, notificationId, tokens, ...apnsFields(chunk.apns) } : undefined;
    case 'fcm':
      return chunk.fcm ? { app, notificationId, tokens, payload: {}, fcm: fcmFields(chunk.fcm) } : undefined;
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
      return { app, notificationId, tokens, payload: {}, web };
    }
  }
}
