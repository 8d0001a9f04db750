import type { RedisClient } from '../../../redis/redis-client.js';
import type {
  ChannelRef,
  ChannelSummary,
  ConnectionAdmission,
  JoinRequest,
  JoinResult,
  LeaveResult,
  PresenceMember,
  StateChange,
} from '../channel-state.js';
import { channelKeyList } from './keys.js';
import type { GatewayKeys } from './keys.js';
import type { NodeRecord } from './node-records.js';
import { joinScript, leaveScript, membersScript, openConnectionScript } from './state-scripts.js';

/**
 * The shared-state operations on Redis, for any socket of any node: the state uses
 * them for this node's sockets, the reaper for a dead node's. Owns no node identity.
 */
export class RedisChannelStore {
  constructor(
    readonly client: RedisClient,
    readonly keys: GatewayKeys,
  ) {}

  async join(ref: ChannelRef, request: JoinRequest): Promise<JoinResult> {
    const member = request.member;
    const reply = await joinScript.run(this.client, channelKeyList(this.keys.channel(ref)), [
      request.socketId,
      member?.userId ?? '',
      member ? (JSON.stringify(member.userInfo) ?? '') : '',
      member && request.maxMembers !== undefined ? request.maxMembers : -1,
    ]);
    const result = decodeJoin(reply, member !== undefined);
    // Listed after the join, so the listing never misses an occupied channel (see channels()).
    if (result.type === 'joined') await this.client.sadd(this.keys.appChannels(ref.app), ref.channel);
    return result;
  }

  async leave(ref: ChannelRef, socketId: string): Promise<LeaveResult> {
    const result = decodeLeave(await leaveScript.run(this.client, channelKeyList(this.keys.channel(ref)), [socketId]));
    if (result.lastSocket) await this.unlistIfEmpty(ref);
    return result;
  }

  async openConnection(app: string, socketId: string, maxConnections: number): Promise<ConnectionAdmission> {
    const reply = await openConnectionScript.run(this.client, [this.keys.appConnections(app)], [socketId, String(maxConnections)]);
    return { accepted: integerAt(reply, 0) === 1, count: integerAt(reply, 1) };
  }

  async closeConnection(app: string, socketId: string): Promise<void> {
    await this.client.srem(this.keys.appConnections(app), socketId);
  }

  async connectionCount(app: string): Promise<number> {
    return this.client.scard(this.keys.appConnections(app));
  }

  async members(ref: ChannelRef): Promise<PresenceMember[]> {
    const keys = this.keys.channel(ref);
    const reply = await membersScript.run(this.client, [keys.info, keys.order], []);
    if (!Array.isArray(reply)) throw new Error('members script returned no list');
    return memberPairs(reply);
  }

  async subscriptionCount(ref: ChannelRef): Promise<number> {
    return this.client.hlen(this.keys.channel(ref).sockets);
  }

  /** Every HLEN is written before any reply is read: one round trip on one connection (a Cluster's per-shard connections answer in parallel). */
  async occupiedOf(app: string, channels: readonly string[]): Promise<Set<string>> {
    const counts = await Promise.all(channels.map((channel) => this.client.hlen(this.keys.channel({ app, channel }).sockets)));
    return new Set(channels.filter((_, index) => (counts[index] ?? 0) > 0));
  }

  async userCount(ref: ChannelRef): Promise<number> {
    return this.client.hlen(this.keys.channel(ref).users);
  }

  /**
   * The app's channel list holds every occupied channel (a join lists its channel
   * after the join script) and may hold vacated ones for a moment; those are
   * filtered here by their real counts, and dropped from the list.
   */
  async channels(app: string, prefix?: string): Promise<Map<string, ChannelSummary>> {
    const listed = (await this.client.smembers(this.keys.appChannels(app))).filter((c) => (prefix === undefined || c.startsWith(prefix)) && !c.startsWith('#')).sort();
    const summaries = await Promise.all(
      listed.map(async (channel): Promise<[string, ChannelSummary]> => {
        const ref = { app, channel };
        const [subscriptionCount, userCount] = await Promise.all([
          this.subscriptionCount(ref),
          channel.startsWith('presence-') ? this.userCount(ref) : Promise.resolve(undefined),
        ]);
        return [channel, userCount === undefined ? { subscriptionCount } : { subscriptionCount, userCount }];
      }),
    );
    const result = new Map<string, ChannelSummary>();
    for (const [channel, summary] of summaries) {
      if (summary.subscriptionCount > 0) result.set(channel, summary);
      else await this.unlistIfEmpty({ app, channel });
    }
    return result;
  }

  async addRecord(nodeId: string, record: string): Promise<void> {
    await this.client.sadd(this.keys.nodeRecords(nodeId), record);
  }

  async removeRecord(nodeId: string, record: string): Promise<void> {
    await this.client.srem(this.keys.nodeRecords(nodeId), record);
  }

  /** Undoes what a record describes; a membership that really ended comes back as a change to announce. */
  async undo(record: NodeRecord): Promise<StateChange | undefined> {
    if (record.type === 'connection') {
      await this.closeConnection(record.app, record.socketId);
      return undefined;
    }
    const result = await this.leave(record.ref, record.socketId);
    return result.left ? { type: 'left', ref: record.ref, socketId: record.socketId, result } : undefined;
  }

  /**
   * Removes a vacated channel from the app's list, then looks again: a join that
   * raced in between either finished before the second look (the channel goes
   * back) or lists the channel itself after this removal.
   */
  private async unlistIfEmpty(ref: ChannelRef): Promise<void> {
    const listKey = this.keys.appChannels(ref.app);
    await this.client.srem(listKey, ref.channel);
    if ((await this.subscriptionCount(ref)) > 0) await this.client.sadd(listKey, ref.channel);
  }
}

function decodeJoin(reply: unknown, presence: boolean): JoinResult {
  if (!Array.isArray(reply)) throw new Error('join script returned no list');
  if (reply[0] === 'full') return { type: 'full', memberCount: Number(reply[1]) };
  if (reply[0] !== 'joined') throw new Error(`join script returned ${String(reply[0])}`);
  const base = {
    type: 'joined' as const,
    firstSocket: integerAt(reply, 1) === 1,
    firstForUser: integerAt(reply, 2) === 1,
    subscriptionCount: integerAt(reply, 3),
  };
  return presence ? Object.assign(base, { members: memberPairs(reply.slice(4)) }) : base;
}

function decodeLeave(reply: unknown): LeaveResult {
  if (!Array.isArray(reply) || reply.length !== 6) throw new Error('leave script returned an unexpected reply');
  const userId = String(reply[4]);
  const base = {
    left: integerAt(reply, 0) === 1,
    lastSocket: integerAt(reply, 1) === 1,
    lastForUser: integerAt(reply, 2) === 1,
    subscriptionCount: integerAt(reply, 3),
  };
  return userId === '' ? base : Object.assign(base, { member: { userId, userInfo: parseInfo(String(reply[5])) } });
}

function memberPairs(flat: readonly unknown[]): PresenceMember[] {
  const members: PresenceMember[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) members.push({ userId: String(flat[i]), userInfo: parseInfo(String(flat[i + 1])) });
  return members;
}

/** user_info is stored as the JSON the gateway validated; '' stands for "none given". */
function parseInfo(text: string): unknown {
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

function integerAt(reply: unknown, index: number): number {
  const value: unknown = Array.isArray(reply) ? reply[index] : undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`script returned ${String(value)} where a number was expected`);
  return n;
}
