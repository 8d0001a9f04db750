import type { NotificationInput as SchemaInput } from '../notifications/contract/notification-schema.js';

/**
 * The notification a producer hands to Herald (contract v1, schema/notification.schema.json).
 * `v` and `app` may be left out: the client fills them in. `id` is the idempotency
 * key (≤ 128 characters); the client generates one when absent.
 */
export type NotificationInput = Omit<SchemaInput, 'v' | 'app'> & { v?: 1; app?: string };

export type { InvalidToken, NotificationState, NotificationStatus, PlatformCounts, UserCounts } from '../notifications/contract/status.js';
/** The FCM and Web Push parts of a notification, once parsed. */
export type { FcmPart, WebPushPart } from '../notifications/contract/notification-schema.js';
/** `to.users`, `to.interests`, `deliver` and `alert` of a notification. */
export type { Alert, DeliverMode, Targets } from '../notifications/contract/notification-schema.js';
/** `cancel`: done, or the state that refused it (`state` undefined: the id is unknown). */
export type { CancelResult } from '../notifications/contract/cancel-script.js';

export interface NotifyResult {
  id: string;
  /** True when a notification with this id already existed: nothing new was queued. */
  duplicate: boolean;
}
