import type { App } from '../apps/app-store.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../log/logger.js';
import { verifyChannelAuth } from './channels/channel-auth.js';
import type { AuthCheck } from './channels/channel-auth.js';
import { channelType, checkChannelName, needsSignature, serverToUserId } from './channels/channel-name.js';
import type { ChannelType } from './channels/channel-name.js';
import { parseChannelData } from './channels/presence-member.js';
import type { Connection, Subscription } from './connection.js';
import type { Fanout } from './fanout.js';
import type { LocalSockets } from './local-sockets.js';
import type { OccupancyEvents } from './occupancy-events.js';
import {
  cacheMissFrame,
  channelEventFrame,
  errorFrame,
  frameDataObject,
  internalChannelFrame,
  subscriptionErrorFrame,
  subscriptionSucceededFrame,
} from './protocol.js';
import type { InboundFrame, SubscriptionErrorType } from './protocol.js';
import type { ChannelCache } from './state/channel-cache.js';
import type { ChannelRef, ChannelState, JoinResult, LeaveResult, PresenceMember, StateChange } from './state/channel-state.js';
import type { SubscriptionCountThrottle } from './subscription-count.js';

export interface SubscriptionsOptions {
  state: ChannelState;
  cache: ChannelCache;
  sockets: LocalSockets<Connection>;
  fanout: Fanout;
  occupancy: OccupancyEvents;
  counts: SubscriptionCountThrottle;
  events: EventBus;
  log: Logger;
  maxChannelsPerConnection: number;
}

type Refusal = { type: SubscriptionErrorType; status: number; message: string; reason: string };

/**
 * pusher:subscribe and pusher:unsubscribe. Each runs serialized per connection, so a
 * socket's joins and leaves reach the shared state in the order it sent them.
 */
export class Subscriptions {
  constructor(private readonly o: SubscriptionsOptions) {}

  subscribe(conn: Connection, frame: InboundFrame): void {
    const queued = conn.serialize(() => this.runSubscribe(conn, frame));
    if (!queued) this.refuse(conn, channelOf(frame), { type: 'LimitReached', status: 429, message: 'Too many subscription requests in flight', reason: 'subscribe_flood' });
  }

  unsubscribe(conn: Connection, frame: InboundFrame): void {
    const channel = channelOf(frame);
    if (channel === undefined) {
      conn.metrics.protocolError('bad_unsubscribe');
      conn.send(errorFrame(null, 'pusher:unsubscribe needs data.channel'));
      return;
    }
    conn.serialize(async () => {
      const subscription = conn.subscriptions.get(channel);
      if (!subscription) return;
      this.dropLocal(conn, subscription);
      if (subscription.type.kind !== 'user') await this.leaveShared(conn, subscription);
    });
  }

  /** After the socket closed: leaves every channel once its queued operations have run. */
  async leaveAll(conn: Connection): Promise<void> {
    await conn.settled();
    const subscriptions = [...conn.subscriptions.values()];
    conn.subscriptions.clear();
    for (const subscription of subscriptions) this.dropLocal(conn, subscription);
    await Promise.all(subscriptions.filter((s) => s.type.kind !== 'user').map((s) => this.leaveShared(conn, s)));
  }

  private async runSubscribe(conn: Connection, frame: InboundFrame): Promise<void> {
    if (!conn.open) return;
    const data = frameDataObject(frame.data);
    const name = checkChannelName(data?.channel, conn.app.limits.maxChannelNameLength);
    if (!name.ok) {
      this.refuse(conn, typeof data?.channel === 'string' ? data.channel : undefined, { type: 'BadRequest', status: 400, message: name.message, reason: 'invalid_channel' });
      return;
    }
    const channel = data?.channel as string;
    const member = this.authorize(conn, channel, name.type, data ?? {});
    if ('message' in member) {
      this.refuse(conn, channel, member);
      return;
    }
    const existing = conn.subscriptions.get(channel);
    if (existing) {
      await this.confirmAgain(conn, existing);
      return;
    }
    if (conn.subscriptions.size >= this.o.maxChannelsPerConnection) {
      this.refuse(conn, channel, { type: 'LimitReached', status: 429, message: `A connection may join at most ${this.o.maxChannelsPerConnection} channels`, reason: 'too_many_channels' });
      return;
    }
    await this.join(conn, channel, name.type, member.member);
  }

  /** Checks the signature or identity the channel type requires; returns the presence member if any. */
  private authorize(conn: Connection, channel: string, type: ChannelType, data: Record<string, unknown>): { member: PresenceMember | undefined } | Refusal {
    const auth = (check: AuthCheck): Refusal | undefined =>
      check.ok ? undefined : { type: 'AuthError', status: 401, message: `${check.message} for ${channel}`, reason: 'auth_failed' };
    if (type.kind === 'user') {
      return conn.user?.id === serverToUserId(channel)
        ? { member: undefined }
        : { type: 'AuthError', status: 401, message: 'Sign in as this user before subscribing to its channel', reason: 'auth_failed' };
    }
    if (!needsSignature(type)) return { member: undefined };
    if (type.kind !== 'presence') return auth(verifyChannelAuth(conn.app, conn.socketId, channel, data.auth)) ?? { member: undefined };
    const channelData = data.channel_data;
    if (channelData === undefined || channelData === null) {
      if (!conn.user) return { type: 'AuthError', status: 401, message: `channel_data or a signed-in connection is required for ${channel}`, reason: 'auth_failed' };
      return auth(verifyChannelAuth(conn.app, conn.socketId, channel, data.auth)) ?? { member: { userId: conn.user.id, userInfo: conn.user.info ?? {} } };
    }
    if (typeof channelData !== 'string') return { type: 'BadRequest', status: 400, message: 'channel_data must be a JSON string', reason: 'bad_channel_data' };
    const refused = auth(verifyChannelAuth(conn.app, conn.socketId, channel, data.auth, channelData));
    if (refused) return refused;
    const parsed = parseChannelData(channelData, conn.app.limits.maxPresenceMemberSizeKb * 1024);
    return parsed.ok ? { member: parsed.member } : { type: parsed.type, status: parsed.status, message: parsed.message, reason: 'bad_channel_data' };
  }

  private async join(conn: Connection, channel: string, type: ChannelType, member: PresenceMember | undefined): Promise<void> {
    const ref: ChannelRef = { app: conn.app.id, channel };
    const subscription: Subscription = { channel, type, userId: member?.userId, backlog: [] };
    conn.subscriptions.set(channel, subscription);
    this.addLocal(conn, subscription);
    if (type.kind === 'user') {
      this.confirm(conn, subscription, undefined);
      return;
    }
    let result: JoinResult;
    try {
      result = await this.o.state.join(ref, {
        socketId: conn.socketId,
        ...(member ? { member, maxMembers: conn.app.limits.maxPresenceMembersPerChannel } : {}),
      });
    } catch (err) {
      this.o.log.error({ err, app: ref.app }, 'channel state join failed');
      this.undo(conn, subscription);
      this.refuse(conn, channel, { type: 'LimitReached', status: 503, message: 'Subscription could not be recorded, retry later', reason: 'state_unavailable' });
      return;
    }
    if (result.type === 'full') {
      this.undo(conn, subscription);
      this.refuse(conn, channel, { type: 'LimitReached', status: 403, message: `Presence channel is full (${result.memberCount} members)`, reason: 'presence_full' });
      return;
    }
    // A socket that closed meanwhile is cleaned up by leaveAll, queued behind this operation.
    if (!conn.open) return;
    const cached = type.cache ? await this.cached(ref) : undefined;
    this.confirm(conn, subscription, result.members);
    if (type.cache) {
      if (cached) conn.send(channelEventFrame(cached.event, channel, cached.data));
      else {
        conn.send(cacheMissFrame(channel));
        this.o.events.emit('cache.miss', ref);
      }
    }
    conn.flush(subscription);
    if (type.kind !== 'public') conn.authDeadlineAt = undefined;
    this.announceJoined(ref, conn.socketId, member, result, conn.app.enableSubscriptionCount);
  }

  /**
   * Announces a change the shared state made on its own — a dead node's sockets
   * removed, this node's memberships restored after Redis lost them — exactly as
   * if a socket of this node had caused it.
   */
  announceChange(change: StateChange, app: App | undefined): void {
    const counts = app?.enableSubscriptionCount ?? false;
    if (change.type === 'left') this.announceLeft(change.ref, change.result, counts);
    else this.announceJoined(change.ref, change.socketId, change.member, change.result, counts);
  }

  private announceJoined(ref: ChannelRef, socketId: string, member: PresenceMember | undefined, result: Extract<JoinResult, { type: 'joined' }>, counts: boolean): void {
    this.o.events.emit('channel.subscribed', Object.assign({}, ref, { socketId }));
    if (result.firstSocket) this.o.occupancy.occupied(ref);
    if (member && result.firstForUser) {
      this.o.fanout.announce(ref.app, ref.channel, internalChannelFrame('pusher_internal:member_added', ref.channel, { user_id: member.userId, user_info: member.userInfo }), socketId);
      this.o.occupancy.memberAdded(ref, member.userId);
    }
    if (counts && channelType(ref.channel).kind !== 'presence') this.o.counts.changed(ref, result.subscriptionCount);
  }

  private async cached(ref: ChannelRef): Promise<{ event: string; data: string } | undefined> {
    try {
      return (await this.o.cache.get(ref))?.event;
    } catch (err) {
      this.o.log.warn({ err, app: ref.app }, 'channel cache read failed; answering cache miss');
      return undefined;
    }
  }

  /** Re-subscribing is idempotent: the socket stays in once and is told it succeeded again. */
  private async confirmAgain(conn: Connection, subscription: Subscription): Promise<void> {
    const members = subscription.type.kind === 'presence' ? await this.o.state.members({ app: conn.app.id, channel: subscription.channel }) : undefined;
    if (conn.open) conn.send(succeededFrame(subscription.channel, members));
  }

  private confirm(conn: Connection, subscription: Subscription, members: readonly PresenceMember[] | undefined): void {
    conn.send(succeededFrame(subscription.channel, members));
    if (subscription.type.kind === 'user') conn.flush(subscription);
  }

  private async leaveShared(conn: Connection, subscription: Subscription): Promise<void> {
    const ref: ChannelRef = { app: conn.app.id, channel: subscription.channel };
    const result = await this.o.state.leave(ref, conn.socketId).catch((err: unknown) => {
      this.o.log.error({ err, app: ref.app }, 'channel state leave failed');
      return undefined;
    });
    if (result?.left) this.announceLeft(ref, result, conn.app.enableSubscriptionCount);
  }

  private announceLeft(ref: ChannelRef, result: LeaveResult, counts: boolean): void {
    if (result.member && result.lastForUser) {
      this.o.fanout.announce(ref.app, ref.channel, internalChannelFrame('pusher_internal:member_removed', ref.channel, { user_id: result.member.userId }));
      this.o.occupancy.memberRemoved(ref, result.member.userId);
    }
    if (result.lastSocket) this.o.occupancy.vacated(ref);
    if (counts && channelType(ref.channel).kind !== 'presence') this.o.counts.changed(ref, result.subscriptionCount);
  }

  private addLocal(conn: Connection, subscription: Subscription): void {
    const change = this.o.sockets.joinChannel(conn, subscription.channel, subscription.userId);
    if (change.channel.first) conn.metrics.channelOccupied(subscription.type.kind);
    if (change.user.first) conn.metrics.presenceMembers.inc();
  }

  private dropLocal(conn: Connection, subscription: Subscription): void {
    conn.subscriptions.delete(subscription.channel);
    const change = this.o.sockets.leaveChannel(conn, subscription.channel, subscription.userId);
    if (change.channel.last) conn.metrics.channelVacated(subscription.type.kind);
    if (change.user.last) conn.metrics.presenceMembers.dec();
  }

  private undo(conn: Connection, subscription: Subscription): void {
    this.dropLocal(conn, subscription);
    subscription.backlog = undefined;
  }

  private refuse(conn: Connection, channel: string | undefined, refusal: Refusal): void {
    conn.metrics.protocolError(refusal.reason);
    conn.log.debug({ channel, reason: refusal.reason, status: refusal.status }, 'subscribe refused');
    conn.send(
      channel === undefined
        ? errorFrame(null, refusal.message)
        : subscriptionErrorFrame(channel, refusal.type, refusal.message, refusal.status),
    );
  }
}

function channelOf(frame: InboundFrame): string | undefined {
  const channel = frameDataObject(frame.data)?.channel;
  return typeof channel === 'string' && channel !== '' ? channel : undefined;
}

function succeededFrame(channel: string, members: readonly PresenceMember[] | undefined): string {
  if (!members) return subscriptionSucceededFrame(channel);
  const hash: Record<string, unknown> = {};
  for (const member of members) hash[member.userId] = member.userInfo;
  return subscriptionSucceededFrame(channel, { presence: { ids: members.map((m) => m.userId), hash, count: members.length } });
}
