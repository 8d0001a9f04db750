import type { Logger } from '../../../log/logger.js';
import { sleep } from '../../../lib/deadline.js';
import type { RedisClient } from '../../../redis/redis-client.js';
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
} from '../channel-state.js';
import { RedisChannelStore } from './channel-records.js';
import { GatewayKeys } from './keys.js';
import { NodeDepartures } from './node-departures.js';
import { NodeHeartbeat } from './node-heartbeat.js';
import { NodeHoldings } from './node-holdings.js';
import { NodeLock } from './node-lock.js';
import { NodeReaper } from './node-reaper.js';
import { connectionRecord, membershipRecord } from './node-records.js';
import { undoNodeRecords } from './node-undo.js';
import type { HeldMembership } from './node-holdings.js';
import { ResyncGate } from './resync-gate.js';
import { RestoreSettle } from './restore-settle.js';
import { StateGeneration } from './state-generation.js';

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
 * When Redis lost its data (a new generation, see StateGeneration) the write-back is
 * silent — the cluster announced those memberships before — and the memberships
 * this node's sockets ended meanwhile are written back too, then removed with their
 * announcements once every node has written back its own (see RestoreSettle).
 *
 * While Redis is away every call rejects at once (nothing is queued): the gateway
 * refuses new connections and subscriptions, and leaves are repaired by the re-sync.
 */
export class RedisChannelState implements ChannelState {
  readonly name = 'channel-state';
  readonly nodeId: string;
  private readonly store: RedisChannelStore;
  private readonly holdings = new NodeHoldings();
  private readonly departures = new NodeDepartures();
  private readonly generation: StateGeneration;
  private readonly settle: RestoreSettle;
  /** The generation of Redis' data this node last wrote its holdings to. */
  private syncedGeneration: string | undefined;
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
    this.generation = new StateGeneration(o.client, this.store.keys, o.nodeId);
    const timeoutMs = o.nodeTimeoutSeconds * 1000;
    // Four beats per timeout: a node survives three missed ones.
    const intervalMs = Math.max(100, Math.min(5_000, Math.floor(timeoutMs / 4)));
    this.settle = new RestoreSettle({ generation: this.generation, timeoutMs, intervalMs, log: this.log, onDue: () => void this.requestResync() });
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
    await this.markSynced(await this.generation.current());
    await this.heartbeat.start();
    this.reaper.start();
  }

  /** Undoes whatever this node still holds (its sockets are gone) and leaves the node set. */
  async stop(deadline: AbortSignal): Promise<void> {
    this.running = false;
    this.heartbeat.stop();
    this.settle.stop();
    await this.reaper.stop();
    this.o.client.off('ready', this.onReady);
    this.o.client.off('close', this.onClose);
    await this.resyncing;
    try {
      await this.gate.alone(async () => {
        const undo = (): Promise<number> => undoNodeRecords({ store: this.store, lock: this.lock, nodeId: this.nodeId, onChange: (change) => this.listener(change) });
        await this.withOwnLock(undo, deadline);
        await this.heartbeat.unregister();
        await this.generation.forget(this.nodeId);
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
      if (result.type === 'joined') {
        this.holdings.addMembership(ref, request.socketId, request.member);
        this.departures.delete(record);
      } else await this.store.removeRecord(this.nodeId, record);
      return result;
    });
  }

  /**
   * Forgets the membership in process first: if Redis is away, the next re-sync
   * removes it there. It stays a departure until Redis applies the leave, so a
   * Redis that lost its data meanwhile still gets it announced (see NodeDepartures).
   */
  async leave(ref: ChannelRef, socketId: string): Promise<LeaveResult> {
    const record = membershipRecord(ref, socketId);
    const held = this.holdings.removeMembership(ref, socketId);
    if (held) this.departures.add(record, held);
    return this.gate.shared(async () => {
      const result = await this.store.leave(ref, socketId);
      if (result.left) this.departures.delete(record);
      await this.store.removeRecord(this.nodeId, record);
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

  occupiedOf(app: string, channels: readonly string[]): Promise<Set<string>> {
    return this.store.occupiedOf(app, channels);
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
   * (announcing memberships Redis had lost, e.g. after the node was taken for dead;
   * silently when Redis lost all its data, see restore()). Runs alone; requests
   * during a run coalesce into one more run.
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
    const generation = await this.generation.current();
    if (this.syncedGeneration !== undefined && generation !== this.syncedGeneration) {
      await this.restore(generation, started);
      return;
    }
    // After a restore, departures stay in Redis until every node has written back its holdings.
    const holdBack = this.settle.pending && !(await this.settle.due());
    const departed = this.departures.snapshot();
    const onChange = (change: StateChange): void => this.listener(change);
    const keep = (record: string): boolean => this.holdings.holds(record) || (holdBack && this.departures.has(record));
    const removed = await undoNodeRecords({ store: this.store, lock: this.lock, nodeId: this.nodeId, keep, onChange });
    const connections = await this.writeBackConnections();
    const memberships = await this.writeBackMemberships(this.holdings.allMemberships(), onChange);
    if (!holdBack) {
      this.departures.settle(departed);
      this.settle.done();
    }
    await this.markSynced(generation);
    await this.heartbeat.beat();
    this.log.info({ removed, connections, memberships, ms: Date.now() - started }, 'state re-synced with redis');
  }

  /**
   * Redis lost its data: writes back what this node's sockets hold without announcing
   * it (the cluster announced it before), plus what they left meanwhile, kept until
   * every node has written back so that each departure is announced once.
   */
  private async restore(generation: string, started: number): Promise<void> {
    const departures = this.departures.all();
    this.log.warn({ departures: departures.length }, 'redis lost the gateway state; writing this node\'s holdings back');
    const connections = await this.writeBackConnections();
    const memberships = await this.writeBackMemberships([...this.holdings.allMemberships(), ...departures], undefined);
    await this.markSynced(generation);
    if (departures.length > 0) this.settle.begin(generation);
    else this.settle.done();
    await this.heartbeat.beat();
    this.log.info({ connections, memberships, departures: departures.length, ms: Date.now() - started }, 'state restored to redis');
  }

  private async writeBackConnections(): Promise<number> {
    const connections = this.holdings.allConnections();
    for (let i = 0; i < connections.length; i += RESYNC_BATCH) {
      await Promise.all(
        connections.slice(i, i + RESYNC_BATCH).map(async ({ record, app, socketId }) => {
          await this.store.addRecord(this.nodeId, record);
          await this.store.openConnection(app, socketId, -1);
        }),
      );
    }
    return connections.length;
  }

  /** Records and joins each membership again; `announce` gets those Redis had lost (none when undefined). */
  private async writeBackMemberships(memberships: ReadonlyArray<{ record: string } & HeldMembership>, announce: ((change: StateChange) => void) | undefined): Promise<number> {
    for (let i = 0; i < memberships.length; i += RESYNC_BATCH) {
      await Promise.all(
        memberships.slice(i, i + RESYNC_BATCH).map(async ({ record, ref, socketId, member }) => {
          await this.store.addRecord(this.nodeId, record);
          // Already admitted once: no member limit on the way back.
          const result = await this.store.join(ref, member ? { socketId, member } : { socketId });
          if (announce && result.type === 'joined' && (result.firstSocket || result.firstForUser)) {
            announce(member ? { type: 'joined', ref, socketId, member, result } : { type: 'joined', ref, socketId, result });
          }
        }),
      );
      await this.lock.extend(this.nodeId);
    }
    return memberships.length;
  }

  private async markSynced(generation: string): Promise<void> {
    await this.generation.markSynced(generation);
    this.syncedGeneration = generation;
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
