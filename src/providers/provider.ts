/**
 * A push provider delivers one notification to many device tokens of one app.
 * APNs is the first kind; FCM or Web Push become siblings behind this interface.
 */
export interface Provider {
  readonly kind: 'apns';
  /** One result per token, yielded as they arrive. Invalid input is a result, never a throw. */
  send(batch: PushBatch, signal: AbortSignal): AsyncIterable<PushResult>;
  /** Whether this provider can send for `app` right now (credentials accepted, not stopped). */
  health(app: string): ProviderHealth;
  close(deadline: AbortSignal): Promise<void>;
}

export interface ProviderHealth {
  ok: boolean;
  detail?: string;
}

export interface PushBatch {
  app: string;
  notificationId: string;
  tokens: readonly string[];
  pushType?: string;
  topic?: string;
  priority?: number;
  /** UNIX seconds; 0 = deliver once, never stored. */
  expiration?: number;
  collapseId?: string;
  payload: Record<string, unknown>;
}

export interface PushResult {
  token: string;
  outcome: PushOutcome;
}

export type PushOutcome =
  | { type: 'delivered'; apnsId: string }
  | { type: 'retry'; reason: string; afterMs?: number }
  | { type: 'rejected'; reason: string; invalidToken: boolean; status?: number; timestamp?: number }
  | { type: 'credentials'; reason: string; status?: number };
