import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { CREATE_RECORDS_LUA, createRecordArgs, parseRecordReply } from '../notifications/contract/record-script.js';
import type { RecordReply } from '../notifications/contract/record-script.js';
import type { Notification, NotificationRef } from '../notifications/contract/notification-schema.js';
import { statusKey } from '../notifications/contract/status.js';
import type { StatusKeyspace } from '../notifications/contract/status.js';

/**
 * The status records herald/client creates next to the jobs it adds, exactly as the
 * daemon's own intake does (contract/record-script.ts): after the job, owned by it, so
 * the status answers `queued` at once and a record never exists without a job that
 * delivers it. A record that was there already, owned by another job, means the id was
 * known: the caller answers duplicate, and that other job delivers it.
 */

const CREATE_RECORDS_SHA = createHash('sha1').update(CREATE_RECORDS_LUA).digest('hex');

/** EVALSHA, then EVAL once after a NOSCRIPT (a restarted or failed-over Redis forgot the script). All keys share one hash tag. */
async function createRecords(connection: Redis | Cluster, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
  try {
    return await connection.evalsha(CREATE_RECORDS_SHA, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return connection.eval(CREATE_RECORDS_LUA, keys.length, ...keys, ...args);
  }
}

export interface RecordSettings extends StatusKeyspace {
  chunkSize: number;
  statusRetentionSeconds: number;
}

export class RedisRecords {
  constructor(
    private readonly connection: Redis | Cluster,
    private readonly settings: RecordSettings,
  ) {}

  key(ref: NotificationRef): string {
    return statusKey(this.settings, ref);
  }

  /** Which of these notifications (all of one partition) have a record: one round trip. */
  async known(refs: readonly NotificationRef[]): Promise<boolean[]> {
    if (refs.length === 0) return [];
    const pipeline = this.connection.pipeline();
    for (const ref of refs) pipeline.exists(this.key(ref));
    const replies = (await pipeline.exec()) ?? [];
    return refs.map((_, index) => {
      const [err, value] = replies[index] ?? [new Error('no reply'), 0];
      if (err) throw err;
      return value === 1;
    });
  }

  /**
   * Creates the records of notifications of one partition, delivered by queue job
   * `owner`, in one script call: per notification, what was there (contract/record-script.ts).
   */
  async create(notifications: readonly Notification[], owner: string, notBefore: number): Promise<RecordReply[]> {
    if (notifications.length === 0) return [];
    const createdAt = Date.now();
    // Kept the retention beyond the send time, as the daemon keeps it.
    const ttlSeconds = this.settings.statusRetentionSeconds + Math.max(0, Math.ceil((notBefore - createdAt) / 1000));
    const keys: string[] = [];
    const args: Array<string | number> = [];
    for (const n of notifications) {
      const tokens = n.apns?.tokens.length ?? 0;
      keys.push(this.key(n));
      args.push(...createRecordArgs({ app: n.app, createdAt, tokens, chunks: Math.ceil(tokens / this.settings.chunkSize), ttlSeconds, owner, start: false }));
    }
    const replies = await createRecords(this.connection, keys, args);
    return notifications.map((_, index) => parseRecordReply(Array.isArray(replies) ? replies[index] : undefined));
  }
}

/**
 * Whether this call queued the notification, from its record: made now, or — when the
 * call added the job itself (`jobAddedNow`) — made by that job's worker, which ran first.
 * When the job existed already it is an earlier call's, and so is a record that names it.
 */
export function queuedByThisCall(reply: RecordReply, owner: string, jobAddedNow: boolean): boolean {
  return reply.created || (jobAddedNow && reply.owner === owner);
}
