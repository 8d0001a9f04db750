import type {
  ChannelRef,
  ChannelState,
  ChannelSummary,
  ConnectionAdmission,
  JoinRequest,
  JoinResult,
  LeaveResult,
  PresenceMember,
} from './channel-state.js';

interface UserEntry {
  readonly member: PresenceMember;
  sockets: number;
}

interface ChannelEntry {
  /** socket id → the user it joined as (presence) or undefined. */
  readonly sockets: Map<string, string | undefined>;
  /** Insertion order is join order, which is the order `ids` are reported in. */
  readonly users: Map<string, UserEntry>;
}

/**
 * A channel's subscribers: the socket id alone while one socket without a presence
 * member is in it (the common case, and what a client opening many channels
 * creates), a ChannelEntry otherwise.
 */
type Occupants = string | ChannelEntry;

/** ChannelState for a single process: plain maps, no expiry, nothing shared. */
export class MemoryChannelState implements ChannelState {
  readonly name = 'channel-state';
  private readonly connections = new Map<string, Set<string>>();
  private readonly apps = new Map<string, Map<string, Occupants>>();

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async openConnection(app: string, socketId: string, maxConnections: number): Promise<ConnectionAdmission> {
    let sockets = this.connections.get(app);
    if (!sockets) {
      sockets = new Set();
      this.connections.set(app, sockets);
    }
    if (sockets.has(socketId)) return { accepted: true, count: sockets.size };
    if (maxConnections >= 0 && sockets.size >= maxConnections) return { accepted: false, count: sockets.size };
    sockets.add(socketId);
    return { accepted: true, count: sockets.size };
  }

  async closeConnection(app: string, socketId: string): Promise<void> {
    const sockets = this.connections.get(app);
    sockets?.delete(socketId);
    if (sockets?.size === 0) this.connections.delete(app);
  }

  async connectionCount(app: string): Promise<number> {
    return this.connections.get(app)?.size ?? 0;
  }

  async join(ref: ChannelRef, request: JoinRequest): Promise<JoinResult> {
    const { socketId, member } = request;
    const existing = this.occupants(ref);
    if (existing === undefined && !member) {
      this.appChannels(ref.app, true).set(ref.channel, socketId);
      return { type: 'joined', firstSocket: true, firstForUser: false, subscriptionCount: 1 };
    }
    if (existing === socketId) return { type: 'joined', firstSocket: false, firstForUser: false, subscriptionCount: 1, ...(member ? { members: [] } : {}) };
    const entry: ChannelEntry =
      typeof existing === 'string'
        ? { sockets: new Map([[existing, undefined]]), users: new Map() }
        : (existing ?? { sockets: new Map(), users: new Map() });
    if (entry.sockets.has(socketId)) {
      return { type: 'joined', firstSocket: false, firstForUser: false, subscriptionCount: entry.sockets.size, ...this.presence(entry, member) };
    }
    const user = member ? entry.users.get(member.userId) : undefined;
    if (member && !user && request.maxMembers !== undefined && entry.users.size >= request.maxMembers) {
      return { type: 'full', memberCount: entry.users.size };
    }
    if (existing !== entry) this.appChannels(ref.app, true).set(ref.channel, entry);
    const firstSocket = entry.sockets.size === 0;
    entry.sockets.set(socketId, member?.userId);
    if (member) {
      if (user) user.sockets += 1;
      else entry.users.set(member.userId, { member: { userId: member.userId, userInfo: member.userInfo }, sockets: 1 });
    }
    return {
      type: 'joined',
      firstSocket,
      firstForUser: member !== undefined && !user,
      subscriptionCount: entry.sockets.size,
      ...this.presence(entry, member),
    };
  }

  async leave(ref: ChannelRef, socketId: string): Promise<LeaveResult> {
    const existing = this.occupants(ref);
    if (existing === socketId) {
      this.dropChannel(ref);
      return { left: true, lastSocket: true, lastForUser: false, subscriptionCount: 0 };
    }
    if (existing === undefined || typeof existing === 'string' || !existing.sockets.has(socketId)) {
      return { left: false, lastSocket: false, lastForUser: false, subscriptionCount: count(existing) };
    }
    const entry = existing;
    const userId = entry.sockets.get(socketId);
    entry.sockets.delete(socketId);
    let lastForUser = false;
    let member: PresenceMember | undefined;
    const user = userId === undefined ? undefined : entry.users.get(userId);
    if (user && userId !== undefined) {
      member = user.member;
      user.sockets -= 1;
      if (user.sockets === 0) {
        entry.users.delete(userId);
        lastForUser = true;
      }
    }
    const lastSocket = entry.sockets.size === 0;
    if (lastSocket) this.dropChannel(ref);
    else if (entry.sockets.size === 1 && entry.users.size === 0) {
      // Back to the compact form once one member-less socket is left.
      this.appChannels(ref.app, true).set(ref.channel, entry.sockets.keys().next().value as string);
    }
    return { left: true, lastSocket, lastForUser, subscriptionCount: entry.sockets.size, ...(member ? { member } : {}) };
  }

  async members(ref: ChannelRef): Promise<PresenceMember[]> {
    const entry = this.occupants(ref);
    return typeof entry === 'object' ? [...entry.users.values()].map((user) => user.member) : [];
  }

  async subscriptionCount(ref: ChannelRef): Promise<number> {
    return count(this.occupants(ref));
  }

  async userCount(ref: ChannelRef): Promise<number> {
    const entry = this.occupants(ref);
    return typeof entry === 'object' ? entry.users.size : 0;
  }

  async occupiedOf(app: string, channels: readonly string[]): Promise<Set<string>> {
    const occupied = new Set<string>();
    for (const channel of channels) if (count(this.occupants({ app, channel })) > 0) occupied.add(channel);
    return occupied;
  }

  async channels(app: string, prefix?: string): Promise<Map<string, ChannelSummary>> {
    const result = new Map<string, ChannelSummary>();
    for (const [channel, entry] of this.appChannels(app, false) ?? []) {
      if (prefix !== undefined && !channel.startsWith(prefix)) continue;
      if (channel.startsWith('#')) continue;
      const isPresence = channel.startsWith('presence-');
      result.set(channel, isPresence ? { subscriptionCount: count(entry), userCount: typeof entry === 'object' ? entry.users.size : 0 } : { subscriptionCount: count(entry) });
    }
    return result;
  }

  private presence(entry: ChannelEntry, member: PresenceMember | undefined): { members?: PresenceMember[] } {
    return member ? { members: [...entry.users.values()].map((user) => user.member) } : {};
  }

  private occupants(ref: ChannelRef): Occupants | undefined {
    return this.apps.get(ref.app)?.get(ref.channel);
  }

  private appChannels(app: string, create: true): Map<string, Occupants>;
  private appChannels(app: string, create: false): Map<string, Occupants> | undefined;
  private appChannels(app: string, create: boolean): Map<string, Occupants> | undefined {
    let channels = this.apps.get(app);
    if (!channels && create) {
      channels = new Map();
      this.apps.set(app, channels);
    }
    return channels;
  }

  private dropChannel(ref: ChannelRef): void {
    const channels = this.apps.get(ref.app);
    channels?.delete(ref.channel);
    if (channels?.size === 0) this.apps.delete(ref.app);
  }
}

function count(occupants: Occupants | undefined): number {
  if (occupants === undefined) return 0;
  return typeof occupants === 'string' ? 1 : occupants.sockets.size;
}
