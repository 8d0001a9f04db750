import type { Cluster, Redis } from 'ioredis';
import { whenReady } from '../../redis/redis-client.js';
import { batchScript, cancelScript, failScript, markActiveScript, saveTargetsScript } from './redis-status-scripts.js';
import { OpBatcher } from './op-batcher.js';
import { createRecordArgs, parseRecordReply } from '../contract/record-script.js';
import { cancelArgs, parseCancelReply } from '../contract/cancel-script.js';
import { INVALID_TOKENS_SHOWN, readStatusRecord, statusKey, statusTag } from '../contract/status.js';
import type { StatusKeyspace } from '../contract/status.js';
import type {
  CancelResult,
  CreateResult,
  Finalization,
  NotificationPlan,
  NotificationRef,
  NotificationState,
  ResolvedTargets,
  StoredStatus,
  StatusStore,
  TokenCheckpoint,
  TokenProgress,
} from './status-store.js';
import { chunkPlatform } from './status-store.js';
import type { DevicePlatform, WebPushSubscription } from '../../devices/device-registry.js';

/**
 * Status and token checkpoints in Redis, shared by every Herald process, so a worker
 * killed mid-chunk is resumed by another without losing or re-sending settled tokens.
 * Keys: `<prefix>:notification:{<partition tag>}:<app>:<id>` (hash; ids are per app) plus
 * `:tokens` (index → checkpoint), `:invalid` (list) and `:chunks` (set), all expiring after
 * the retention. The hot steps of many notifications go out together (op-batcher.ts).
 */
export class RedisStatusStore implements StatusStore {
  readonly name = 'status-store';
  private readonly batcher: OpBatcher;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly space: StatusKeyspace,
    private readonly retentionSeconds: number,
  ) {
    this.batcher = new OpBatcher(redis, batchScript);
  }

  /** Resolves once the connection is up: a command connection fails commands at once while it is not. */
  async start(): Promise<void> {
    await whenReady(this.redis, AbortSignal.timeout(30_000));
  }

  async stop(): Promise<void> {
    this.redis.disconnect();
  }

  async create(plan: NotificationPlan): Promise<CreateResult> {
    const wait = Math.max(0, Math.ceil(((plan.notBefore ?? 0) - Date.now()) / 1000));
    const args = createRecordArgs({ app: plan.app, createdAt: plan.createdAt, tokens: plan.tokens, chunks: plan.chunks, ttlSeconds: this.retentionSeconds + wait, owner: plan.owner ?? '', start: plan.active === true });
    const { key, tag } = this.place(plan);
    return parseRecordReply(await this.batcher.run(tag, 'create', [key], args));
  }

  async get(ref: NotificationRef): Promise<StoredStatus | undefined> {
    const key = this.key(ref);
    const [recordReply, invalidReply] = (await this.redis.multi().hgetall(key).lrange(`${key}:invalid`, 0, INVALID_TOKENS_SHOWN - 1).exec()) ?? [];
    return readStatusRecord(ref, (recordReply?.[1] ?? {}) as Record<string, string>, (invalidReply?.[1] ?? []) as string[]);
  }

  async known(ref: NotificationRef): Promise<boolean> {
    return (await this.redis.exists(this.key(ref))) === 1;
  }

  async markActive(ref: NotificationRef): Promise<NotificationState | undefined> {
    const before = (await markActiveScript.run(this.redis, [this.key(ref)], [])) as string;
    return before === '' ? undefined : (before as NotificationState);
  }

  async cancel(ref: NotificationRef, now: number, createdAt?: number): Promise<CancelResult> {
    const create = createdAt === undefined ? undefined : { app: ref.app, createdAt, ttlSeconds: this.retentionSeconds };
    return parseCancelReply(await cancelScript.run(this.redis, [this.key(ref)], cancelArgs(now, create)));
  }

  async saveTargets(ref: NotificationRef, targets: ResolvedTargets): Promise<ResolvedTargets> {
    const key = this.key(ref);
    const users = targets.users;
    const tokens = targets.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const args: Array<string | number> = [users?.total ?? '', users?.online ?? 0, users?.pushed ?? 0, users?.noDevices ?? 0, tokens, targets.chunks.length, JSON.stringify(targets.online)];
    for (const [index, chunk] of targets.chunks.entries()) args.push(encodeChunk(targets, index, chunk));
    const saved = (await saveTargetsScript.run(this.redis, [key, `${key}:targets`], args)) as number;
    if (saved !== 0) return targets;
    return (await this.targets(ref)) ?? targets;
  }

  async targets(ref: NotificationRef): Promise<ResolvedTargets | undefined> {
    const key = this.key(ref);
    const [recordReply, targetsReply] = (await this.redis.multi().hmget(key, 'resolved', 'chunks', 'usersTotal', 'usersOnline', 'usersPushed', 'usersNoDevices').hgetall(`${key}:targets`).exec()) ?? [];
    const [resolved, chunks, total, online, pushed, noDevices] = (recordReply?.[1] ?? []) as Array<string | null>;
    const stored = (targetsReply?.[1] ?? {}) as Record<string, string>;
    if (resolved !== '1' || stored.online === undefined) return undefined;
    const decoded = decodeChunks(Array.from({ length: Number(chunks ?? 0) }, (_, chunk) => stored[`c${chunk}`] ?? ''));
    return {
      online: JSON.parse(stored.online) as string[],
      ...(total === null || total === undefined ? {} : { users: { total: Number(total), online: Number(online ?? 0), pushed: Number(pushed ?? 0), noDevices: Number(noDevices ?? 0) } }),
      ...decoded,
    };
  }

  async realtimeDone(ref: NotificationRef): Promise<boolean> {
    return (await this.redis.hexists(this.key(ref), 'realtime')) === 1;
  }

  async recordRealtime(ref: NotificationRef, result: { channels: number } | { error: string }): Promise<void> {
    const fields = 'error' in result ? { realtime: 'failed', realtimeError: result.error } : { realtime: 'done', channels: result.channels };
    await this.redis.hset(this.key(ref), fields);
  }

  async claimRealtime(ref: NotificationRef): Promise<boolean> {
    return (await this.redis.hsetnx(this.key(ref), 'realtimeClaim', Date.now())) === 1;
  }

  async releaseRealtime(ref: NotificationRef): Promise<void> {
    await this.redis.hdel(this.key(ref), 'realtimeClaim');
  }

  async firstSend(ref: NotificationRef, at: number): Promise<boolean> {
    const { key, tag } = this.place(ref);
    return (await this.batcher.run(tag, 'firstSend', [key], [at])) === 1;
  }

  async progress(ref: NotificationRef, from: number, count: number): Promise<TokenProgress[]> {
    if (count === 0) return [];
    const fields = Array.from({ length: count }, (_, offset) => String(from + offset));
    const { key, tag } = this.place(ref);
    const values = (await this.batcher.run(tag, 'progress', [`${key}:tokens`], fields)) as Array<string | null>;
    return fields.map((_, offset) => parseCheckpoint(values[offset] ?? null));
  }

  async record(ref: NotificationRef, checkpoints: readonly TokenCheckpoint[]): Promise<void> {
    if (checkpoints.length === 0) return;
    const { key, tag } = this.place(ref);
    const args: Array<string | number> = [this.retentionSeconds];
    encodeOutcomes(checkpoints, args);
    await this.batcher.run(tag, 'record', [key, `${key}:tokens`, `${key}:invalid`], args);
  }

  async completeChunk(ref: NotificationRef, chunk: number | undefined, now: number, checkpoints: readonly TokenCheckpoint[] = []): Promise<Finalization> {
    const { key, tag } = this.place(ref);
    const args: Array<string | number> = [chunk === undefined ? '' : chunk, this.retentionSeconds, now];
    if (checkpoints.length > 0) encodeOutcomes(checkpoints, args);
    const reply = (await this.batcher.run(tag, 'complete', [key, `${key}:chunks`, `${key}:tokens`, `${key}:invalid`], args)) as [number, string?, string?, number?, number?, number?];
    if (reply[0] !== 1) return { finished: false };
    const [, app = '', state = 'completed', sent = 0, failed = 0, expired = 0] = reply;
    return { finished: true, app, state: state as 'completed' | 'failed', sent, failed, expired };
  }

  async fail(ref: NotificationRef, reason: string, now: number): Promise<Finalization> {
    const reply = (await failScript.run(this.redis, [this.key(ref)], [ref.app, reason, now, this.retentionSeconds])) as [number, number?, number?, number?];
    if (reply[0] !== 1) return { finished: false };
    const [, sent = 0, failed = 0, expired = 0] = reply;
    return { finished: true, app: ref.app, state: 'failed', sent, failed, expired, reason };
  }

  /** App ids hold no `:` (config rule), so `<app>:<id>` names one notification of one app. */
  private key(ref: NotificationRef): string {
    return statusKey(this.space, ref);
  }

  /** Its record's key and the hash tag it carries (its partition's), worked out once for a batched step. */
  private place(ref: NotificationRef): { key: string; tag: string } {
    const tag = statusTag(this.space, ref);
    return { key: statusKey(this.space, ref, tag), tag };
  }
}

function parseCheckpoint(value: string | null): TokenProgress {
  if (value === null) return { settled: false, retries: 0, dueAt: 0 };
  if (value.startsWith('r')) {
    const [retries = '0', dueAt = '0'] = value.slice(1).split(':');
    return { settled: false, retries: Number(retries), dueAt: Number(dueAt) };
  }
  return { settled: true };
}

/**
 * Outcomes as the scripts read them (redis-status-scripts.ts recordOutcomes): first the
 * indexes of the APNs tokens delivered, comma-joined (most outcomes: one argument, one
 * HMGET and one HSET for all of them), then four arguments per other outcome.
 */
function encodeOutcomes(checkpoints: readonly TokenCheckpoint[], args: Array<string | number>): void {
  let delivered = '';
  const at = args.length;
  args.push('');
  for (const checkpoint of checkpoints) {
    if (checkpoint.kind === 'delivered' && !checkpoint.platform) delivered = delivered === '' ? String(checkpoint.index) : `${delivered},${checkpoint.index}`;
    else args.push(...encodeCheckpoint(checkpoint));
  }
  args[at] = delivered;
}

/** A settled code carries its platform when it is not APNs (`d:fcm`): the scripts count those apart. */
function encodeCheckpoint(checkpoint: TokenCheckpoint): [number, string, string, string] {
  const of = (code: string): string => (checkpoint.kind !== 'rescheduled' && checkpoint.platform ? `${code}:${checkpoint.platform}` : code);
  switch (checkpoint.kind) {
    case 'delivered':
      return [checkpoint.index, of('d'), '', ''];
    case 'expired':
      return [checkpoint.index, of('x'), 'Expired', ''];
    case 'rescheduled':
      return [checkpoint.index, 'r', '', `${checkpoint.retries}:${checkpoint.at}`];
    case 'failed':
      return [checkpoint.index, of('f'), checkpoint.reason, checkpoint.invalid ? JSON.stringify(checkpoint.invalid) : ''];
  }
}

/**
 * A recorded chunk: APNs tokens comma-joined (as records always had them), an FCM chunk
 * `fcm|` and its comma-joined tokens, a Web Push chunk `web|` and the JSON of its
 * [token, subscription] pairs. Tokens never hold `|` or `,` (hex, FCM's and web ids' alphabets).
 */
function encodeChunk(targets: ResolvedTargets, index: number, tokens: readonly string[]): string {
  const platform = chunkPlatform(targets, index);
  if (platform === 'apns') return tokens.join(',');
  if (platform === 'fcm') return `fcm|${tokens.join(',')}`;
  return `web|${JSON.stringify(tokens.map((token) => [token, targets.subscriptions?.[token] ?? null]))}`;
}

function decodeChunks(values: readonly string[]): Pick<ResolvedTargets, 'chunks' | 'platforms' | 'subscriptions'> {
  const chunks: string[][] = [];
  const platforms: DevicePlatform[] = [];
  const subscriptions: Record<string, WebPushSubscription> = {};
  for (const value of values) {
    if (value.startsWith('web|')) {
      const pairs = JSON.parse(value.slice(4)) as Array<[string, WebPushSubscription | null]>;
      chunks.push(pairs.map(([token]) => token));
      for (const [token, subscription] of pairs) if (subscription) subscriptions[token] = subscription;
      platforms.push('web');
    } else {
      const fcm = value.startsWith('fcm|');
      chunks.push((fcm ? value.slice(4) : value).split(',').filter((token) => token !== ''));
      platforms.push(fcm ? 'fcm' : 'apns');
    }
  }
  if (platforms.every((platform) => platform === 'apns')) return { chunks };
  return { chunks, platforms, ...(Object.keys(subscriptions).length > 0 ? { subscriptions } : {}) };
}
