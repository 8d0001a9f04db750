/**
 * A notification's status: the body `GET /apps/{id}/notifications/{nid}` answers
 * (what herald/client returns), the record the status store keeps, and where that
 * record lives in Redis, so herald/client's Redis mode reads what the daemon wrote.
 */
import { partitionOf, partitionTag } from './partitions.js';
import { z } from 'zod';
import type { NotificationRef } from './notification-schema.js';

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
  /** Notifications with FCM or Web Push tokens: settled tokens per platform (`apns` above counts them all). */
  platforms?: PlatformCounts;
  /** Notifications with `to.users`: the users, and what was decided for each (once, before sending). */
  users?: UserCounts;
  /** Why a failed notification failed. */
  error?: string;
  [extra: string]: unknown;
}

/**
 * What was decided for a notification's users: `online` got the realtime event, `pushed`
 * had devices that were sent APNs, `noDevices` were offline (or push-only) without a device.
 */
export interface UserCounts {
  total: number;
  online: number;
  pushed: number;
  noDevices: number;
}

/** A notification's status as the store keeps it (times in ms); `statusView` makes the HTTP body of it. Counts are per device token. */
export interface StoredStatus {
  id: string;
  app: string;
  state: NotificationState;
  createdAt: number;
  finishedAt?: number;
  /** 1, plus one for every round in which some token had to be sent again. */
  attempts: number;
  apns: {
    total: number;
    sent: number;
    /** Rejected, expired or out of attempts; `failures` says why. */
    failed: number;
    expired: number;
    pending: number;
    /** Tokens APNs called dead (first 1,000). */
    invalidTokens: InvalidToken[];
    failures: Record<string, number>;
  };
  realtime: { channels: number; error?: string };
  platforms?: PlatformCounts;
  users?: UserCounts;
  error?: string;
}

/** Sent and failed tokens of each platform. */
export interface PlatformCounts {
  apns: { sent: number; failed: number };
  fcm: { sent: number; failed: number };
  web: { sent: number; failed: number };
}

/**
 * The per-platform counts of a record whose FCM or Web Push tokens were counted apart
 * (`fcmSent`, `webFailed`, … fields); APNs is the rest. Undefined when none were.
 */
export function platformCounts(total: { sent: number; failed: number }, counted: { fcm: { sent: number; failed: number }; web: { sent: number; failed: number } }): PlatformCounts | undefined {
  const { fcm, web } = counted;
  if (fcm.sent + fcm.failed + web.sent + web.failed === 0) return undefined;
  return { apns: { sent: total.sent - fcm.sent - web.sent, failed: total.failed - fcm.failed - web.failed }, fcm: { ...fcm }, web: { ...web } };
}

/**
 * The `error` of a notification cancelled before it was sent: its state is `failed`, so
 * clients that know the four states keep working and every "finished" check covers it.
 */
export const CANCELLED = 'cancelled';

/** Invalid tokens listed in a status (the first ones; the count is in `failures`). */
export const INVALID_TOKENS_SHOWN = 1_000;

/** Where status records live: Herald's `redis.keyPrefix`, and the queue's prefix and partitions (their hash tags). */
export interface StatusKeyspace {
  keyPrefix: string;
  queuePrefix: string;
  partitions: number;
}

/**
 * The status hash in Redis; `:invalid` (list), `:tokens` and `:chunks` hang off it. Ids are
 * per app. It carries its partition's hash tag (partitions.ts), so one script can write
 * the records of many notifications of a partition on a Redis Cluster.
 */
export function statusKey(space: StatusKeyspace, ref: NotificationRef, tag = statusTag(space, ref)): string {
  return `${space.keyPrefix}:notification:{${tag}}:${ref.app}:${ref.id}`;
}

/** The hash tag a notification's status keys carry: its partition's. */
export function statusTag(space: StatusKeyspace, ref: NotificationRef): string {
  return partitionTag(space.queuePrefix, partitionOf(ref, space.partitions), space.partitions);
}

/** The status from its Redis hash and `:invalid` entries; undefined when the hash does not exist. */
export function readStatusRecord(ref: NotificationRef, record: Readonly<Record<string, string>>, invalidEntries: readonly string[]): StoredStatus | undefined {
  if (record.app === undefined) return undefined;
  const invalid = invalidEntries.map((entry) => JSON.parse(entry) as InvalidToken);
  const num = (field: string): number => Number(record[field] ?? 0);
  const failures: Record<string, number> = {};
  for (const [field, value] of Object.entries(record)) if (field.startsWith('reason:')) failures[field.slice(7)] = Number(value);
  const tokens = num('tokens');
  return {
    id: ref.id,
    app: record.app,
    state: (record.state ?? 'queued') as NotificationState,
    createdAt: num('createdAt'),
    ...(record.finishedAt === undefined ? {} : { finishedAt: num('finishedAt') }),
    attempts: Math.max(1, num('attempts')),
    apns: {
      total: tokens,
      sent: num('sent'),
      failed: num('failed'),
      expired: num('expired'),
      pending: Math.max(0, tokens - num('sent') - num('failed')),
      invalidTokens: invalid,
      failures,
    },
    realtime: record.realtimeError === undefined ? { channels: num('channels') } : { channels: 0, error: record.realtimeError },
    ...withPlatforms(
      platformCounts({ sent: num('sent'), failed: num('failed') }, { fcm: { sent: num('fcmSent'), failed: num('fcmFailed') }, web: { sent: num('webSent'), failed: num('webFailed') } }),
    ),
    ...(record.usersTotal === undefined
      ? {}
      : { users: { total: num('usersTotal'), online: num('usersOnline'), pushed: num('usersPushed'), noDevices: num('usersNoDevices') } }),
    ...(record.error === undefined ? {} : { error: record.error }),
  };
}

function withPlatforms(platforms: PlatformCounts | undefined): { platforms?: PlatformCounts } {
  return platforms ? { platforms } : {};
}

const count = z.number().int().nonnegative();
const sentFailed = z.looseObject({ sent: count, failed: count });

/**
 * The status body as a schema: the OpenAPI document publishes it and herald/client checks
 * answers with it. Unknown extra fields are kept, so a newer daemon never breaks an older client.
 */
export const notificationStatusSchema = z.looseObject({
  id: z.string(),
  state: z.enum(['queued', 'active', 'completed', 'failed']).describe('A notification cancelled while queued is failed, with error "cancelled"'),
  createdAt: z.string().describe('ISO 8601'),
  finishedAt: z.string().optional(),
  attempts: count,
  apns: z.looseObject({
    sent: count,
    failed: count,
    pending: count,
    invalidTokens: z.array(z.looseObject({ token: z.string(), reason: z.string(), timestamp: z.number().optional() })),
    total: count.optional(),
    expired: count.optional(),
    failures: z.record(z.string(), count).optional(),
  }),
  realtime: z.looseObject({ channels: count, error: z.string().optional() }),
  platforms: z
    .looseObject({ apns: sentFailed, fcm: sentFailed, web: sentFailed })
    .optional()
    .describe('Notifications with FCM or Web Push tokens: sent and failed tokens per platform (apns counts every platform)'),
  users: z
    .looseObject({ total: count, online: count, pushed: count, noDevices: count })
    .optional()
    .describe('Notifications with to.users: online users got the realtime event, pushed ones APNs, noDevices were offline without a device'),
  error: z.string().optional().describe('Why it failed; "cancelled" for a cancelled one'),
});
