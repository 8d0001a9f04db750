/**
 * The notification a producer hands to Herald (contract v1). `v` and `app` may be
 * left out: the client fills them in. The daemon validates every field again.
 */
export interface NotificationInput {
  v?: 1;
  app?: string;
  /** The idempotency key (≤ 128 chars); generated when absent. */
  id?: string;
  apns?: {
    tokens: string[];
    pushType?: 'alert' | 'background' | 'voip' | 'complication' | 'fileprovider' | 'mdm' | 'location' | 'liveactivity' | 'pushtotalk' | 'widgets' | 'controls';
    topic?: string;
    priority?: 1 | 5 | 10;
    /** UNIX seconds; 0 means "deliver now or never". */
    expiration?: number;
    collapseId?: string;
    payload: Record<string, unknown>;
  };
  realtime?: {
    channels: string[];
    event: string;
    data?: unknown;
    /** Excludes this socket from the broadcast, as in Pusher. */
    socketId?: string;
  };
  /** ISO 8601 date-time: not before. */
  sendAt?: string;
}

export type NotificationState = 'queued' | 'active' | 'completed' | 'failed';

export interface InvalidToken {
  token: string;
  reason: string;
  timestamp?: number;
}

/** What `GET /apps/{id}/notifications/{nid}` answers. */
export interface NotificationStatus {
  id: string;
  state: NotificationState;
  createdAt: string;
  attempts: number;
  apns: { sent: number; failed: number; pending: number; invalidTokens: InvalidToken[] };
  realtime: { channels: number };
  [extra: string]: unknown;
}

export interface NotifyResult {
  id: string;
  /** True when a notification with this id already existed: nothing new was queued. */
  duplicate: boolean;
}
