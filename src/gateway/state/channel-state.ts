import type { Service } from '../../lib/service.js';

import type { ChannelRef } from '../../events.js';

export type { ChannelRef };

/** A presence member is a user, not a socket: one user on several sockets is one member. */
export interface PresenceMember {
  readonly userId: string;
  /** Whatever the app server put in `user_info`; the first socket's value is kept until the user's last socket leaves. */
  readonly userInfo: unknown;
}

export interface JoinRequest {
  /** Cluster-unique socket id (see socket-id.ts). */
  readonly socketId: string;
  /** Present for presence channels only. */
  readonly member?: PresenceMember;
  /** Presence channels: refuse a user who would be member number `maxMembers + 1`. */
  readonly maxMembers?: number;
}

export type JoinResult =
  | {
      readonly type: 'joined';
      /** The channel had no subscriber anywhere before this socket: channel_occupied. */
      readonly firstSocket: boolean;
      /** Presence: the user had no socket in the channel before this one: member_added. */
      readonly firstForUser: boolean;
      /** Sockets subscribed to the channel, across every node, after the join. */
      readonly subscriptionCount: number;
      /** Presence: every member after the join, in join order, including the joiner. */
      readonly members?: readonly PresenceMember[];
    }
  | { readonly type: 'full'; readonly memberCount: number };

export interface LeaveResult {
  /** False when the socket was not in the channel: nothing changed, announce nothing. */
  readonly left: boolean;
  /** The channel has no subscriber anywhere any more: channel_vacated. */
  readonly lastSocket: boolean;
  /** Presence: this was the user's last socket in the channel: member_removed. */
  readonly lastForUser: boolean;
  readonly subscriptionCount: number;
  /** Presence: the member the socket belonged to. */
  readonly member?: PresenceMember;
}

export interface ChannelSummary {
  readonly subscriptionCount: number;
  /** Presence channels only: distinct users. */
  readonly userCount?: number;
}

export type ConnectionAdmission = { readonly accepted: true; readonly count: number } | { readonly accepted: false; readonly count: number };

/**
 * A change to shared state made on this node's behalf but not through its own
 * join/leave calls: a dead node's sockets removed by this node, or this node's
 * memberships re-registered after Redis lost them. The gateway announces it as it
 * announces its own (member_added/removed frames, channel and member events);
 * every such change is reported by exactly one node of the cluster.
 */
export type StateChange =
  | { readonly type: 'left'; readonly ref: ChannelRef; readonly socketId: string; readonly result: LeaveResult }
  | {
      readonly type: 'joined';
      readonly ref: ChannelRef;
      readonly socketId: string;
      readonly member?: PresenceMember;
      readonly result: Extract<JoinResult, { type: 'joined' }>;
    };

/**
 * Occupancy, presence and per-app connection counts: the view every node shares.
 * The memory implementation serves one process; a Redis one serves a cluster, with
 * node heartbeats so a dead node's sockets are eventually removed.
 *
 * Every method is idempotent for a given socket id: joining twice counts once,
 * leaving a channel the socket is not in changes nothing.
 */
export interface ChannelState extends Service {
  /** Counts a connection against the app's limit (`maxConnections` < 0: unlimited). A refused one is not counted. */
  openConnection(app: string, socketId: string, maxConnections: number): Promise<ConnectionAdmission>;
  closeConnection(app: string, socketId: string): Promise<void>;
  connectionCount(app: string): Promise<number>;

  join(ref: ChannelRef, request: JoinRequest): Promise<JoinResult>;
  leave(ref: ChannelRef, socketId: string): Promise<LeaveResult>;

  /** Presence members in join order; empty for other channels. */
  members(ref: ChannelRef): Promise<PresenceMember[]>;
  subscriptionCount(ref: ChannelRef): Promise<number>;
  /** Distinct presence users in the channel. */
  userCount(ref: ChannelRef): Promise<number>;
  /**
   * Occupied channels of an app, optionally only those whose name starts with `prefix`.
   * Signed-in users' `#server-to-user-` records (see UserSignins) are not channels to list.
   */
  channels(app: string, prefix?: string): Promise<Map<string, ChannelSummary>>;
  /** Which of `channels` have at least one socket anywhere, in one round trip. */
  occupiedOf(app: string, channels: readonly string[]): Promise<Set<string>>;

  /** Shared implementations report changes they made on their own (see StateChange); one listener, set by the gateway. */
  onChange?(listener: (change: StateChange) => void): void;
}
