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

/** ChannelState for a single process: plain maps, no expiry, nothing shared. */
export class MemoryChannelState implements ChannelState {
  readonly name = 'channel-state';
  private readonly connections = new Map<string, Set<string>>();
  private readonly apps = new Map<string, Map<string, ChannelEntry>>();

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
    const existing = this.entry(ref);
    const entry = existing ?? { sockets: new Map(), users: new Map() };
    const { socketId, member } = request;
    if (entry.sockets.has(socketId)) {
      return { type: 'joined', firstSocket: false, firstForUser: false, subscriptionCount: entry.sockets.size, ...this.presence(entry, member) };
    }
    const user = member ? entry.users.get(member.userId) : undefined;
    if (member && !user && request.maxMembers !== undefined && entry.users.size >= request.maxMembers) {
      return { type: 'full', memberCount: entry.users.size };
    }
    if (!existing) this.appChannels(ref.app, true).set(ref.channel, entry);
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
    const entry = this.entry(ref);
    if (!entry || !entry.sockets.has(socketId)) {
      return { left: false, lastSocket: false, lastForUser: false, subscriptionCount: entry?.sockets.size ?? 0 };
    }
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
    return { left: true, lastSocket, lastForUser, subscriptionCount: entry.sockets.size, ...(member ? { member } : {}) };
  }

  async members(ref: ChannelRef): Promise<PresenceMember[]> {
    return [...(this.entry(ref)?.users.values() ?? [])].map((user) => user.member);
  }

  async subscriptionCount(ref: ChannelRef): Promise<number> {
    return this.entry(ref)?.sockets.size ?? 0;
  }

  async userCount(ref: ChannelRef): Promise<number> {
    return this.entry(ref)?.users.size ?? 0;
  }

  async channels(app: string, prefix?: string): Promise<Map<string, ChannelSummary>> {
    const result = new Map<string, ChannelSummary>();
    for (const [channel, entry] of this.appChannels(app, false) ?? []) {
      if (prefix !== undefined && !channel.startsWith(prefix)) continue;
      const isPresence = channel.startsWith('presence-');
      result.set(channel, isPresence ? { subscriptionCount: entry.sockets.size, userCount: entry.users.size } : { subscriptionCount: entry.sockets.size });
    }
    return result;
  }

  private presence(entry: ChannelEntry, member: PresenceMember | undefined): { members?: PresenceMember[] } {
    return member ? { members: [...entry.users.values()].map((user) => user.member) } : {};
  }

  private entry(ref: ChannelRef): ChannelEntry | undefined {
    return this.apps.get(ref.app)?.get(ref.channel);
  }

  private appChannels(app: string, create: true): Map<string, ChannelEntry>;
  private appChannels(app: string, create: false): Map<string, ChannelEntry> | undefined;
  private appChannels(app: string, create: boolean): Map<string, ChannelEntry> | undefined {
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
