/** What the local index needs from a connection; tests use plain objects. */
export interface LocalSocket {
  readonly socketId: string;
  readonly appId: string;
  /** Writes an already-serialized channel frame for `channel` (queued while the subscription completes). */
  deliver(channel: string, payload: Buffer): void;
}

/**
 * A channel's local subscribers: the socket itself while it is the only one (most
 * channels on a node have one subscriber, and an anonymous client can open hundreds
 * of such channels), a Set once a second joins.
 */
type Subscribers<S> = S | Set<S>;

interface LocalApp<S> {
  readonly sockets: Set<S>;
  readonly channels: Map<string, Subscribers<S>>;
  /** Presence channels only: channel → user id → local sockets of that user in it. */
  readonly presence: Map<string, Map<string, number>>;
  readonly users: Map<string, Set<S>>;
}

export interface IndexChange {
  /** The first socket of this node in the channel (or, for a user, in the presence channel). */
  readonly first: boolean;
  /** The last one left. */
  readonly last: boolean;
}

/**
 * This node's sockets, by app, channel and signed-in user. Fanout reads it: one
 * payload Buffer goes to every local subscriber.
 */
export class LocalSockets<S extends LocalSocket> {
  private readonly apps = new Map<string, LocalApp<S>>();
  private readonly byId = new Map<string, S>();

  get size(): number {
    return this.byId.size;
  }

  has(socketId: string): boolean {
    return this.byId.has(socketId);
  }

  add(socket: S): void {
    this.byId.set(socket.socketId, socket);
    this.app(socket.appId, true).sockets.add(socket);
  }

  /** Forgets the socket; the caller has already taken it out of its channels and user. */
  remove(socket: S): void {
    this.byId.delete(socket.socketId);
    const app = this.apps.get(socket.appId);
    app?.sockets.delete(socket);
    if (app && app.sockets.size === 0) this.apps.delete(socket.appId);
  }

  /** A copy: closing a socket removes it from the live set. */
  ofApp(appId: string): S[] {
    return [...(this.apps.get(appId)?.sockets ?? [])];
  }

  all(): IterableIterator<S> {
    return this.byId.values();
  }

  joinChannel(socket: S, channel: string, userId?: string): { channel: IndexChange; user: IndexChange } {
    const app = this.app(socket.appId, true);
    const entry = app.channels.get(channel);
    const firstChannel = entry === undefined;
    if (entry === undefined) app.channels.set(channel, socket);
    else if (entry instanceof Set) entry.add(socket);
    else if (entry !== socket) app.channels.set(channel, new Set([entry, socket]));
    let firstUser = false;
    if (userId !== undefined) {
      let users = app.presence.get(channel);
      if (!users) {
        users = new Map();
        app.presence.set(channel, users);
      }
      const count = users.get(userId) ?? 0;
      firstUser = count === 0;
      users.set(userId, count + 1);
    }
    return { channel: { first: firstChannel, last: false }, user: { first: firstUser, last: false } };
  }

  leaveChannel(socket: S, channel: string, userId?: string): { channel: IndexChange; user: IndexChange } {
    const app = this.apps.get(socket.appId);
    const entry = app?.channels.get(channel);
    if (!app || entry === undefined) return { channel: unchanged, user: unchanged };
    let lastChannel: boolean;
    if (entry instanceof Set) {
      if (!entry.delete(socket)) return { channel: unchanged, user: unchanged };
      lastChannel = entry.size === 0;
      // Back to the single-socket form when one subscriber is left.
      if (entry.size === 1) app.channels.set(channel, entry.values().next().value as S);
    } else {
      if (entry !== socket) return { channel: unchanged, user: unchanged };
      lastChannel = true;
    }
    if (lastChannel) app.channels.delete(channel);
    let lastUser = false;
    const users = userId === undefined ? undefined : app.presence.get(channel);
    if (users && userId !== undefined) {
      const count = (users.get(userId) ?? 1) - 1;
      lastUser = count === 0;
      if (lastUser) users.delete(userId);
      else users.set(userId, count);
      if (users.size === 0) app.presence.delete(channel);
    }
    return { channel: { first: false, last: lastChannel }, user: { first: false, last: lastUser } };
  }

  rememberUser(socket: S, userId: string): void {
    const app = this.app(socket.appId, true);
    let sockets = app.users.get(userId);
    if (!sockets) {
      sockets = new Set();
      app.users.set(userId, sockets);
    }
    sockets.add(socket);
  }

  forgetUser(socket: S, userId: string): void {
    const app = this.apps.get(socket.appId);
    const sockets = app?.users.get(userId);
    sockets?.delete(socket);
    if (app && sockets?.size === 0) app.users.delete(userId);
  }

  /** This node's sockets signed in as `userId`. */
  userSockets(appId: string, userId: string): S[] {
    return [...(this.apps.get(appId)?.users.get(userId) ?? [])];
  }

  /**
   * Writes a frame to every local subscriber except `exceptSocketId`: encoded once,
   * the same Buffer goes to each socket. Returns how many got it.
   */
  deliver(appId: string, channel: string, frame: string, exceptSocketId?: string): number {
    const entry = this.apps.get(appId)?.channels.get(channel);
    if (entry === undefined) return 0;
    const payload = Buffer.from(frame);
    if (!(entry instanceof Set)) {
      if (entry.socketId === exceptSocketId) return 0;
      entry.deliver(channel, payload);
      return 1;
    }
    let delivered = 0;
    for (const socket of entry) {
      if (socket.socketId === exceptSocketId) continue;
      socket.deliver(channel, payload);
      delivered += 1;
    }
    return delivered;
  }

  private app(appId: string, create: true): LocalApp<S>;
  private app(appId: string, create: boolean): LocalApp<S> | undefined {
    let app = this.apps.get(appId);
    if (!app && create) {
      app = { sockets: new Set(), channels: new Map(), presence: new Map(), users: new Map() };
      this.apps.set(appId, app);
    }
    return app;
  }
}

const unchanged: IndexChange = { first: false, last: false };
