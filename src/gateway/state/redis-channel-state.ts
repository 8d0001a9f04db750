import type { Logger } from '../../log/logger.js';
import { sleep } from '../../lib/deadline.js';
import type { RedisClient } from '../../redis/redis-client.js';
import type {
  ChannelRef,
  ChannelState,
  ChannelSummary,
  ConnectionAdmission,
  JoinRequest,
  JoinResult,
  LeaveResult,
  PresenceMember,
  StateChange,
} from './channel-state.js';
import { RedisChannelStore } from './redis-channel-store.js';
import { GatewayKeys } from './redis-keys.js';
import { NodeHeartbeat } from './redis-node-heartbeat.js';
import { NodeHoldings } from './redis-node-holdings.js';
import { NodeLock } from './redis-node-lock.js';
import { NodeReaper } from './redis-node-reaper.js';
import { connectionRecord, membershipRecord } from './redis-node-records.js';
import { undoNodeRecords } from './redis-node-undo.js';
import { ResyncGate } from './redis-resync-gate.js';

export interface RedisChannelStateOptions {
  /** A `commands` connection (fails fast while Redis is away). */
  client: RedisClient;
  keyPrefix: string;
  nodeId: string;
  /** gateway.nodeTimeoutSeconds: silence after which a node's sockets are removed by the others. */
  nodeTimeoutSeconds: number;
  log: Logger;
}

/** Work per round trip when re-registering a node's holdings. */
const RESYNC_BATCH = 100;

/**
 * ChannelState shared by every node through Redis. Transitions are Lua scripts on
 * the channel's keys, so "first socket", "first for user", "last socket" are decided
 * once for the whole cluster. Each node records what its sockets hold under its own
 * key and heartbeats; survivors undo a silent node's records (see NodeReaper). The
 * node keeps the same facts in process and writes them back whenever Redis may have
 * lost them: after a reconnect, or when its heartbeat finds it was taken for dead.
 *
 * While Redis is away every call rejects at once (nothing is queued): the gateway
 * refuses new connections and subscriptions, and leaves are repaired by the re-sync.
 */
export class RedisChannelState implements ChannelState {
  readonly name = 'channel-state';
  readonly nodeId: string;
  private readonly store: RedisChannelStore;
  private readonly holdings = new NodeHoldings();
  private readonly gate = new ResyncGate();
  private readonly lock: NodeLock;
  private readonly heartbeat: NodeHeartbeat;
  private readonly reaper: NodeReaper;
  private readonly log: Logger;
  private listener: (change: StateChange) => void = () => {};
  private connectedSince: number | undefined;
  private resyncing: Promise<void> | undefined;
  private resyncAgain = false;
  private running = false;

  constructor(private readonly o: RedisChannelStateOptions) {
    this.nodeId = o.nodeId;
    this.log = o.log.child({ module: 'channel-state' });
    this.store = new RedisChannelStore(o.client, new GatewayKeys(o.keyPrefix));
    this.lock = new NodeLock(o.client, this.store.keys, o.nodeId);
    const timeoutMs = o.nodeTimeoutSeconds * 1000;
    // Four beats per timeout: a node survives three missed ones.
    const intervalMs = Math.max(100, Math.min(5_000, Math.floor(timeoutMs / 4)));
    this.heartbeat = new NodeHeartbeat({ client: o.client, keys: this.store.keys, nodeId: o.nodeId, intervalMs, log: this.log, onForgotten: () => this.requestResync() });
    this.reaper = new NodeReaper({
      store: this.store,
      lock: this.lock,
      nodeId: o.nodeId,
      timeoutMs,
      intervalMs,
      log: this.log,
      mayReap: () => this.connectedSince !== undefined && Date.now() - this.connectedSince >= timeoutMs,
      onChange: (change) => this.listener(change),
    });
    o.client.on('ready', this.onReady);
    o.client.on('close', this.onClose);
  }

  onChange(listener: (change: StateChange) => void): void {
    this.listener = listener;
  }

  async start(): Promise<void> {
    this.running = true;
    if (this.o.client.status === 'ready') this.connectedSince ??= Date.now();
    await this.heartbeat.start();
    this.reaper.start();
  }

  /** Undoes whatever this node still holds (its sockets are gone) and leaves the node set. */
  async stop(deadline: AbortSignal): Promise<void> {
    this.running = false;
    this.heartbeat.stop();
    await this.reaper.stop();
    this.o.client.off('ready', this.onReady);
    this.o.client.off('close', this.onClose);
    await this.resyncing;
    try {
      await this.gate.alone(async () => {
        const undo = (): Promise<number> => undoNodeRecords({ store: this.store, lock: this.lock, nodeId: this.nodeId, onChange: (change) => this.listener(change) });
        await this.withOwnLock(undo, deadline);
        await this.heartbeat.unregister();
      });
    } catch (err) {
      // Redis is away: the node stays listed, falls silent, and the survivors undo its records.
      this.log.warn({ err }, 'state not cleaned up at shutdown; other nodes will remove it');
    }
  }

  async openConnection(app: string, socketId: string, maxConnections: number): Promise<ConnectionAdmission> {
    return this.gate.shared(async () => {
      const record = connectionRecord(app, socketId);
      await this.store.addRecord(this.nodeId, record);
      const admission = await this.store.openConnection(app, socketId, maxConnections);
      if (admission.accepted) this.holdings.addConnection(app, socketId);
      else await this.store.removeRecord(this.nodeId, record);
      return admission;
    });
  }

  async closeConnection(app: string, socketId: string): Promise<void> {
    this.holdings.removeConnection(app, socketId);
    await this.gate.shared(async () => {
      await this.store.closeConnection(app, socketId);
      await this.store.removeRecord(this.nodeId, connectionRecord(app, socketId));
    });
  }

  async join(ref: ChannelRef, request: JoinRequest): Promise<JoinResult> {
    return this.gate.shared(async () => {
      const record = membershipRecord(ref, request.socketId);
      await this.store.addRecord(this.nodeId, record);
      const result = await this.store.join(ref, request);
      if (result.type === 'joined') this.holdings.addMembership(ref, request.socketId, request.member);
      else await this.store.removeRecord(this.nodeId, record);
      return result;
    });
  }

  /** Forgets the membership in process first: if Redis is away, the next re-sync removes it there. */
  async leave(ref: ChannelRef, socketId: string): Promise<LeaveResult> {
    this.holdings.removeMembership(ref, socketId);
    return this.gate.shared(async () => {
      const result = await this.store.leave(ref, socketId);
      await this.store.removeRecord(this.nodeId, membershipRecord(ref, socketId));
      return result;
    });
  }

  connectionCount(app: string): Promise<number> {
    return this.store.connectionCount(app);
  }

  members(ref: ChannelRef): Promise<PresenceMember[]> {
    return this.store.members(ref);
  }

  subscriptionCount(ref: ChannelRef): Promise<number> {
    return this.store.subscriptionCount(ref);
  }

  userCount(ref: ChannelRef): Promise<number> {
    return this.store.userCount(ref);
  }

  channels(app: string, prefix?: string): Promise<Map<string, ChannelSummary>> {
    return this.store.channels(app, prefix);
  }

  /** One pass of the dead-node reaper (it also runs every heartbeat interval). */
  reapSilentNodes(): Promise<string[]> {
    return this.reaper.sweep();
  }

  /**
   * Makes Redis agree with what this node's live sockets hold: undoes recorded items
   * they no longer hold (announcing memberships that end), and re-registers the rest
   * (announcing memberships Redis had lost). Runs alone; requests during a run
   * coalesce into one more run.
   */
  requestResync(): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      do {
        this.resyncAgain = false;
        try {
          await this.gate.alone(() => this.withOwnLock(() => this.resync()));
        } catch (err) {
          // Redis went away again: the next reconnect asks for another run.
          this.log.warn({ err }, 'state re-sync failed');
        }
      } while (this.resyncAgain && this.running);
    })().finally(() => {
      this.resyncing = undefined;
    });
    return this.resyncing;
  }

  private async resync(): Promise<void> {
    const started = Date.now();
    const onChange = (change: StateChange): void => this.listener(change);
    const removed = await undoNodeRecords({ store: this.store, lock: this.lock, nodeId: this.nodeId, keep: (r) => this.holdings.holds(r), onChange });
    const connections = this.holdings.allConnections();
    for (let i = 0; i < connections.length; i += RESYNC_BATCH) {
      await Promise.all(
        connections.slice(i, i + RESYNC_BATCH).map(async ({ record, app, socketId }) => {
          await this.store.addRecord(this.nodeId, record);
          await this.store.openConnection(app, socketId, -1);
        }),
      );
    }
    const memberships = this.holdings.allMemberships();
    for (let i = 0; i < memberships.length; i += RESYNC_BATCH) {
      await Promise.all(
        memberships.slice(i, i + RESYNC_BATCH).map(async ({ record, ref, socketId, member }) => {
          await this.store.addRecord(this.nodeId, record);
          // Already admitted once: no member limit on the way back.
          const result = await this.store.join(ref, member ? { socketId, member } : { socketId });
          if (result.type === 'joined' && (result.firstSocket || result.firstForUser)) {
            onChange(member ? { type: 'joined', ref, socketId, member, result } : { type: 'joined', ref, socketId, result });
          }
        }),
      );
      await this.lock.extend(this.nodeId);
    }
    await this.heartbeat.beat();
    this.log.info({ removed, connections: connections.length, memberships: memberships.length, ms: Date.now() - started }, 'state re-synced with redis');
  }

  /** Waits for this node's clean-up lock (a reaper may hold it), runs, releases. */
  private async withOwnLock<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    while (!(await this.lock.tryAcquire(this.nodeId))) await sleep(100, signal);
    try {
      return await work();
    } finally {
      await this.lock.release(this.nodeId).catch(() => {});
    }
  }

  private readonly onReady = (): void => {
    const reconnected = this.connectedSince === undefined && this.running;
    this.connectedSince = Date.now();
    if (reconnected) void this.requestResync();
  };

  private readonly onClose = (): void => {
    this.connectedSince = undefined;
  };
}
