import type { NotificationInput as SchemaInput } from '../notifications/contract/notification-schema.js';

/**
 * The notification a producer hands to Herald (contract v1, schema/notification.schema.json).
 * `v` and `app` may be left out: the client fills them in. `id` is the idempotency
 * key (≤ 128 characters); the client generates one when absent.
 */
export type NotificationInput = Omit<SchemaInput, 'v' | 'app'> & { v?: 1; app?: string };

export type NotificationState = 'queued' | 'active' | 'completed' | 'failed';

export interface InvalidToken {
  token: string;
  reason: string;
  timestamp?: number;
}

/** What `GET /apps/{id}/notifications/{nid}` answers (fields beyond the contract's may be added). */
export interface NotificationStatus {
  id: string;
  state: NotificationState;
  /** ISO 8601. */
  createdAt: string;
  finishedAt?: string;
  attempts: number;
  apns: {
    sent: number;
    failed: number;
    pending: number;
    invalidTokens: InvalidToken[];
    total?: number;
    expired?: number;
    /** Failed tokens by reason. */
    failures?: Record<string, number>;
  };
  realtime: { channels: number; error?: string };
  /** Why a failed notification failed. */
  error?: string;
  [extra: string]: unknown;
}

export interface NotifyResult {
  id: string;
  /** True when a notification with this id already existed: nothing new was queued. */
  duplicate: boolean;
}
