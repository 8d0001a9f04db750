/**
 * A push provider delivers one notification to many device tokens of one app.
 * APNs is the first kind; FCM or Web Push become siblings behind this interface.
 */
export type ProviderKind = 'apns';

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
  payload: Record<string, unknown>;
}

export interface PushResult {
  /** Exactly as given in `batch.tokens`. */
  token: string;
  /** Position in `batch.tokens`, so duplicates in a batch stay distinguishable. */
  index: number;
  outcome: PushOutcome;
}

export type PushOutcome =
  | { type: 'delivered'; apnsId: string }
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
