import type { Service } from '../../lib/service.js';
import type { NotificationRef } from '../contract/notification-schema.js';
import type { InvalidToken, NotificationState, StoredStatus, UserCounts } from '../contract/status.js';
import type { CancelResult } from '../contract/cancel-script.js';
import type { DevicePlatform, WebPushSubscription } from '../../devices/device-registry.js';

export type { CancelResult, InvalidToken, NotificationRef, NotificationState, StoredStatus, UserCounts };

/** Platforms whose settled tokens are counted apart (absent on a checkpoint: APNs, counted as the rest). */
export type CountedPlatform = 'fcm' | 'web';

/**
 * A notification's targets once resolved (users, interests and explicit tokens): recorded
 * before anything is sent, so every later run sends to exactly these.
 */
export interface ResolvedTargets {
  /** Absent when the notification names no users. */
  users?: UserCounts;
  /** Users to publish the realtime event to (`#server-to-user-{id}`). */
  online: string[];
  /** Device tokens, explicit ones first, without duplicates, cut into chunks (one platform each) as they will be sent. */
  chunks: string[][];
  /** Each chunk's platform, by index; absent (records written before FCM and Web Push): every chunk is APNs. */
  platforms?: DevicePlatform[];
  /** The browser subscription behind each Web Push token, as the registry had it. */
  subscriptions?: Record<string, WebPushSubscription>;
}

/** A chunk's platform: APNs unless the resolution says otherwise. */
export function chunkPlatform(targets: ResolvedTargets, chunk: number): DevicePlatform {
  return targets.platforms?.[chunk] ?? 'apns';
}


/** What is known when a notification is first seen. */
export interface NotificationPlan extends NotificationRef {
  createdAt: number;
  /** Device tokens (after normalisation) and the chunks they were cut into. */
  tokens: number;
  chunks: number;
  /** `sendAt` (ms): the record is kept the retention period beyond it, so a late send stays idempotent. */
  notBefore?: number;
  /**
   * The worker starts it now: a new record is created `active`, and an existing `queued`
   * one becomes `active` (what `markActive` does), in the same step — unless another job owns it.
   */
  active?: boolean;
  /**
   * The queue job that delivers it (its id). A record owned by another job that is still
   * queued or active is left as it is: that job delivers it (contract/record-script.ts).
   * Absent: no owner (tests, cancelled and failed records).
   */
  owner?: string;
}

/**
 * What one token's `PushOutcome` means for its notification (token-round.ts decides),
 * by its index in the notification's (normalised) token list: written to the checkpoint.
 */
export type TokenCheckpoint =
  | { index: number; kind: 'delivered'; platform?: CountedPlatform }
  | { index: number; kind: 'failed'; reason: string; invalid?: InvalidToken; platform?: CountedPlatform }
  | { index: number; kind: 'expired'; platform?: CountedPlatform }
  /** Not settled (the provider said `retry` or `credentials`): send again at `at`; `retries` counts the rescheduling rounds so far for this token. */
  | { index: number; kind: 'rescheduled'; at: number; retries: number };

/** A token's checkpoint: settled (never sent again), or how often it was rescheduled and when it is due. */
export type TokenProgress = { settled: true } | { settled: false; retries: number; dueAt: number };

export type Finalization =
  | { finished: false }
  | { finished: true; app: string; state: 'completed' | 'failed'; sent: number; failed: number; expired: number; reason?: string };

/** `owner`: the job the existing record names ('' for none). */
export type CreateResult = { created: true } | { created: false; state: NotificationState; owner: string };

/**
 * Per-notification status and per-token checkpoint, kept `retention` seconds. Every
 * write is idempotent, so a worker that crashed and re-runs a chunk never counts a
 * token twice: the first recorded settlement of a token wins.
 * Memory (embedded) and Redis implement it; test/conformance/status-store.ts holds both to it.
 */
export interface StatusStore extends Service {
  /** Creates the record unless the app's id is known; then says where it stands and which job owns it. */
  create(plan: NotificationPlan): Promise<CreateResult>;
  get(ref: NotificationRef): Promise<StoredStatus | undefined>;
  /** Whether the app's id is known (one key lookup, for the idempotency check at accept time). */
  known(ref: NotificationRef): Promise<boolean>;
  /** queued → active; no effect on any other state. Answers the state before (undefined: unknown). */
  markActive(ref: NotificationRef): Promise<NotificationState | undefined>;
  /**
   * queued → failed with error `cancelled` (CANCELLED), in one step; any other state is
   * left as is. A worker starts a notification only through `create(active)` or
   * `markActive`, so one that raced the cancel finds it failed and sends nothing.
   * `createdAt` given: a missing record is created cancelled (the caller saw its job still
   * waiting; a job queued straight into BullMQ has no record until a worker runs it).
   */
  cancel(ref: NotificationRef, now: number, createdAt?: number): Promise<CancelResult>;
  /** Whether the realtime part was published already (a re-run must not publish it again). */
  realtimeDone(ref: NotificationRef): Promise<boolean>;
  recordRealtime(ref: NotificationRef, result: { channels: number } | { error: string }): Promise<void>;
  /**
   * Marks the realtime part as being published; true only for the first call per
   * notification. Taken before publishing, so a run that finds it taken but nothing
   * recorded knows an earlier run may have published and must not publish again.
   */
  claimRealtime(ref: NotificationRef): Promise<boolean>;
  /** Gives the claim back (the publish failed with an error, not a crash: it may be tried again). */
  releaseRealtime(ref: NotificationRef): Promise<void>;
  /** True only for the first call per notification: the first APNs request goes out now. */
  firstSend(ref: NotificationRef, at: number): Promise<boolean>;
  /** Checkpoints of tokens `from` … `from + count - 1`. */
  progress(ref: NotificationRef, from: number, count: number): Promise<TokenProgress[]>;
  /** Records checkpoints as they arrive; a token settled before keeps its first checkpoint. */
  record(ref: NotificationRef, checkpoints: readonly TokenCheckpoint[]): Promise<void>;
  /**
   * Records the chunk's last `checkpoints` (as `record` would), marks chunk `chunk` as settled
   * (undefined: there are no chunks) and, when it was the last, finishes the notification,
   * all in one step. Exactly one caller is told `finished: true`.
   */
  completeChunk(ref: NotificationRef, chunk: number | undefined, now: number, checkpoints?: readonly TokenCheckpoint[]): Promise<Finalization>;
  /**
   * Records the resolution unless one is recorded already, and answers the recorded one:
   * the token and chunk counts of the record become the resolution's, in the same step.
   */
  saveTargets(ref: NotificationRef, targets: ResolvedTargets): Promise<ResolvedTargets>;
  /** The recorded resolution, if any. */
  targets(ref: NotificationRef): Promise<ResolvedTargets | undefined>;
  /** Fails the whole notification (creating the record when needed) unless it finished already. */
  fail(ref: NotificationRef, reason: string, now: number): Promise<Finalization>;
}

/** At most this many invalid tokens are listed in a status answer. */

/** A notification with device tokens fails when none of them could be delivered. */
export function finalState(tokens: number, sent: number): 'completed' | 'failed' {
  return tokens > 0 && sent === 0 ? 'failed' : 'completed';
}
