/** What FCM accepts, checked where notifications, devices and chunk jobs come in and again before sending. */

/** Registration tokens are opaque (about 160 characters today): this refuses only what cannot be one. */
export const MAX_FCM_TOKEN_LENGTH = 4096;
export const fcmTokenPattern = /^[A-Za-z0-9_:\-.]{1,4096}$/;

/** Data keys FCM reserves (https://firebase.google.com/docs/cloud-messaging/concept-options#data_messages). */
export function isFcmReservedKey(key: string): boolean {
  return key === 'from' || key === 'notification' || key === 'message_type' || /^(google|gcm)/i.test(key);
}
