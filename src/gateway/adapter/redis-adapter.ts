import { Cluster } from 'ioredis';
import { HeraldError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import { LuaScript } from '../../redis/lua-script.js';
import type { RedisClient } from '../../redis/redis-client.js';
import type { Adapter, FanoutHandler, FanoutMessage } from './adapter.js';
import { decodeBatch, encodeBatch } from './redis-adapter-codec.js';

export type PubSubMode = 'regular' | 'sharded';

export interface RedisAdapterOptions {
  /** A `commands` connection: PUBLISH fails at once while Redis is away. */
  publisher: RedisClient;
  /** A `subscriber` connection; ioredis renews its subscriptions after each reconnect. */
  subscriber: RedisClient;
  keyPrefix: string;
  nodeId: string;
  log: Logger;
  metrics?: Metrics;
  /** Default: sharded pub/sub on a Cluster whose servers have SPUBLISH (Redis 7), regular otherwise. */
  pubsub?: PubSubMode;
  /** Sharded mode: how many shard channels an app's messages are spread over (by app). */
  shards?: number;
  /** Bytes of messages waiting for Redis (batched or in flight) beyond which publishes are dropped. */
  maxPendingBytes?: number;
  onHandlerError?: (err: unknown) => void;
}

/**
 * Regular PUBLISH on a Cluster goes to a random node, and messages entering the
 * cluster bus at different nodes may overtake each other. Declaring the channel as
 * the script's key routes every node's publishes to the one master that owns its
 * slot, which keeps each publisher's order.
 */
const publishScript = new LuaScript('herald-publish', "return redis.call('PUBLISH', KEYS[1], ARGV[1])");

/** A batch is sent at the end of the tick, or as soon as it reaches either bound. */
const BATCH_MESSAGES = 256;
const BATCH_BYTES = 256 * 1024;
const DEFAULT_MAX_PENDING_BYTES = 16 * 1024 * 1024;

interface Pending {
  readonly messages: FanoutMessage[];
  readonly waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
  bytes: number;
}

/**
 * Fanout over Redis pub/sub. The publishing node hands a message to its own
 * handlers at once (local sockets never wait for, or depend on, Redis) and
 * publishes it for the others, which skip their own echoes. Messages published
 * in the same tick travel as one Redis message; one node's messages for one app
 * keep their order on every node.
 *
 * While Redis is away, local delivery continues and publish rejects at once with
 * HERALD_REDIS_UNAVAILABLE, counted as `adapter_messages_total{direction="dropped"}`:
 * nothing is buffered for later. Messages published by other nodes during the gap
 * are lost to this node (pub/sub keeps no history).
 */
export class RedisAdapter implements Adapter {
  readonly name = 'adapter';
  private readonly handlers: FanoutHandler[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly log: Logger;
  private readonly maxPendingBytes: number;
  private mode: PubSubMode = 'regular';
  private channels: string[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private running = false;

  constructor(private readonly o: RedisAdapterOptions) {
    this.log = o.log.child({ module: 'adapter' });
    this.maxPendingBytes = o.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
  }

  /** Which pub/sub flavour is in use (known after start). */
  get pubsub(): PubSubMode {
    return this.mode;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.mode = this.o.pubsub ?? (await this.detectMode());
    const base = `${this.o.keyPrefix}:fanout`;
    this.channels = this.mode === 'sharded' ? Array.from({ length: this.o.shards ?? 16 }, (_, i) => `${base}:{${i}}`) : [base];
    if (this.mode === 'sharded') {
      this.o.subscriber.on('smessage', this.onPayload);
      // One by one: SSUBSCRIBE takes channels of one slot only.
      for (const channel of this.channels) await this.o.subscriber.ssubscribe(channel);
    } else {
      this.o.subscriber.on('message', this.onPayload);
      await this.o.subscriber.subscribe(...this.channels);
    }
    this.running = true;
    this.log.info({ pubsub: this.mode, channels: this.channels.length }, 'fanout subscribed');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.o.subscriber.off('message', this.onPayload);
    this.o.subscriber.off('smessage', this.onPayload);
    const unsubscribed = this.mode === 'sharded' ? this.channels.map((c) => this.o.subscriber.sunsubscribe(c)) : [this.o.subscriber.unsubscribe(...this.channels)];
    await Promise.allSettled(unsubscribed);
    this.flush();
  }

  publish(message: FanoutMessage): Promise<void> {
    if (!this.running) return Promise.reject(new Error('adapter is not running'));
    this.deliver(message);
    const bytes = message.type === 'event' ? message.frame.length + 64 : 64;
    if (this.o.publisher.status !== 'ready') return this.drop('Redis is unavailable');
    if (this.pendingBytes + bytes > this.maxPendingBytes) return this.drop('fanout backlog is full');
    const channel = this.channelOf(message.app);
    let batch = this.pending.get(channel);
    if (!batch) {
      batch = { messages: [], waiters: [], bytes: 0 };
      this.pending.set(channel, batch);
    }
    batch.messages.push(message);
    batch.bytes += bytes;
    this.pendingBytes += bytes;
    const sent = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.messages.length >= BATCH_MESSAGES || batch.bytes >= BATCH_BYTES) this.send(channel, batch);
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return sent;
  }

  onMessage(handler: FanoutHandler): void {
    this.handlers.push(handler);
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [channel, batch] of this.pending) this.send(channel, batch);
  }

  private send(channel: string, batch: Pending): void {
    this.pending.delete(channel);
    const payload = encodeBatch(this.o.nodeId, batch.messages);
    const published =
      this.mode === 'sharded'
        ? this.o.publisher.spublish(channel, payload)
        : this.o.publisher instanceof Cluster
          ? publishScript.run(this.o.publisher, [channel], [payload])
          : this.o.publisher.publish(channel, payload);
    published.then(
      () => {
        this.pendingBytes -= batch.bytes;
        for (const waiter of batch.waiters) waiter.resolve();
      },
      (err: unknown) => {
        this.pendingBytes -= batch.bytes;
        this.o.metrics?.adapterMessages.inc({ direction: 'dropped' }, batch.messages.length);
        const failure = new HeraldError('HERALD_REDIS_UNAVAILABLE', 'fanout to other nodes failed', { cause: err });
        for (const waiter of batch.waiters) waiter.reject(failure);
      },
    );
  }

  private drop(reason: string): Promise<void> {
    this.o.metrics?.adapterMessages.inc({ direction: 'dropped' });
    return Promise.reject(new HeraldError('HERALD_REDIS_UNAVAILABLE', `fanout to other nodes failed: ${reason}`));
  }

  private readonly onPayload = (_channel: string, payload: string): void => {
    if (!this.running) return;
    const batch = decodeBatch(payload);
    if (!batch) {
      this.log.warn({ bytes: payload.length }, 'fanout message not understood; dropped');
      return;
    }
    if (batch.node === this.o.nodeId) return;
    for (const message of batch.messages) this.deliver(message);
  };

  private deliver(message: FanoutMessage): void {
    for (const handler of this.handlers) {
      try {
        handler(message);
      } catch (err) {
        this.o.onHandlerError?.(err);
      }
    }
  }

  /** Sharded mode spreads apps over the shard channels; one app always uses the same one, which keeps its order. */
  private channelOf(app: string): string {
    if (this.channels.length === 1) return this.channels[0] as string;
    let hash = 2166136261;
    for (let i = 0; i < app.length; i += 1) hash = Math.imul(hash ^ app.charCodeAt(i), 16777619);
    return this.channels[(hash >>> 0) % this.channels.length] as string;
  }

  private async detectMode(): Promise<PubSubMode> {
    if (!(this.o.publisher instanceof Cluster)) return 'regular';
    const info = (await this.o.publisher.call('COMMAND', 'INFO', 'SPUBLISH')) as unknown[];
    return Array.isArray(info) && info[0] ? 'sharded' : 'regular';
  }
}
