/**
 * A push provider delivers one notification to many device tokens of one app.
 * Kinds: APNs (Apple), FCM (Android and Firebase clients), Web Push (browsers).
 */
export type ProviderKind = 'apns' | 'fcm' | 'web';

export interface Provider {
  readonly kind: ProviderKind;
  /** Whether `app` has credentials for this provider at all. */
  serves(app: string): boolean;
  /**
   * One result per entry of `batch.tokens`, yielded as they arrive (not in batch order).
   * Tokens are taken from the batch lazily as the app's in-flight bound frees slots, so
   * a consumer that stops pulling stops the sending. Invalid input is a result, never a
   * throw. When `signal` aborts, tokens not yet sent come back as `retry` (reason
   * `Aborted`) and requests already in flight are still reported.
   */
  send(batch: PushBatch, signal: AbortSignal): AsyncIterable<PushResult>;
  /** Whether this provider can send for `app` right now (credentials not refused). */
  health(app: string): ProviderHealth;
  close(deadline: AbortSignal): Promise<void>;
}

export interface ProviderHealth {
  ok: boolean;
  detail?: string;
}

export interface PushBatch {
  app: string;
  /** Carried into events (e.g. `apns.token_invalid`) so listeners can tie a result to its notification. */
  notificationId: string;
  tokens: readonly string[];
  pushType?: string;
  /** Overrides the app's configured topic; the push type's suffix is added when missing. */
  topic?: string;
  priority?: number;
  /** UNIX seconds; 0 = deliver once, never stored. */
  expiration?: number;
  collapseId?: string;
  /** APNs: the JSON payload (`aps` and custom keys). Other kinds ignore it. */
  payload: Record<string, unknown>;
  /**
   * FCM: the message fields besides the target (`token` is set per device). `priority`
   * (10 → HIGH, 5 → NORMAL), `expiration` (→ ttl) and `collapseId` (→ collapse_key) fill
   * the `android` fields this leaves unset. Absent: a message with only those fields.
   */
  fcm?: FcmMessageFields;
  /**
   * Web Push: the message, and the browser subscription behind each entry of `tokens`
   * (a token names a subscription; the provider never parses tokens). `expiration`
   * becomes the TTL when `web.ttl` is absent. Absent: every token is rejected `NoWebMessage`.
   */
  web?: WebPushFields;
}

/** A browser's PushSubscription as `subscription.toJSON()` gives it (RFC 8030, RFC 8291). */
export interface WebPushSubscription {
  /** The push service's https URL for this subscription. */
  endpoint: string;
  /** base64url: `p256dh` the 65-byte uncompressed P-256 point, `auth` the 16-byte secret. */
  keys: { p256dh: string; auth: string };
}

export interface WebPushFields {
  /** By token, exactly as in `tokens`. A token missing here is rejected `UnknownSubscription`. */
  subscriptions: ReadonlyMap<string, WebPushSubscription>;
  /** What the service worker reads (`event.data.text()`); absent: the JSON text of `payload`. At most 3993 bytes of UTF-8. */
  data?: string;
  /** Seconds the push service may hold the message for an offline browser (`TTL`); 0 = now or never. */
  ttl?: number;
  /** RFC 8030 §5.3; absent: `normal`. */
  urgency?: 'very-low' | 'low' | 'normal' | 'high';
  /** RFC 8030 §5.4: replaces an undelivered message of the same topic; at most 32 base64url characters. */
  topic?: string;
}

/** FCM HTTP v1 `Message` fields (https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages), as the provider sends them. */
export interface FcmMessageFields {
  notification?: { title?: string; body?: string; image?: string };
  /** FCM accepts string values only. */
  data?: Record<string, string>;
  android?: {
    priority?: 'NORMAL' | 'HIGH';
    /** Seconds with an `s` suffix, as Google's Duration: `"3600s"`. */
    ttl?: string;
    collapse_key?: string;
    restricted_package_name?: string;
    direct_boot_ok?: boolean;
    notification?: Record<string, unknown>;
    data?: Record<string, string>;
  };
  fcm_options?: { analytics_label?: string };
}

export interface PushResult {
  /** Exactly as given in `batch.tokens`. */
  token: string;
  /** Position in `batch.tokens`, so duplicates in a batch stay distinguishable. */
  index: number;
  outcome: PushOutcome;
}

export type PushOutcome =
  /**
   * Accepted. APNs gives `apnsId` (its apns-id); FCM gives `messageId`, the message's name
   * `projects/{p}/messages/{id}`; Web Push gives `messageId`, the push service's Location URL.
   */
  | { type: 'delivered'; apnsId: string; messageId?: undefined }
  | { type: 'delivered'; apnsId?: undefined; messageId: string }
  /**
   * Not delivered yet; send again no sooner than `afterMs`. `unconfirmed` means the last
   * request may have reached the provider (its answer was lost), so sending again may
   * deliver a duplicate.
   */
  | { type: 'retry'; reason: string; afterMs?: number; status?: number; unconfirmed?: boolean }
  /** Permanent for this notification. `invalidToken`: the token is dead for this app and should be deleted. */
  | { type: 'rejected'; reason: string; invalidToken: boolean; status?: number; timestamp?: number; detail?: string }
  /** The app's credentials were refused; nothing is sent for it until `afterMs` has passed. */
  | { type: 'credentials'; reason: string; status?: number; afterMs?: number };
