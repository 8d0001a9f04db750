import { HeraldError } from '../errors.js';
import type { Service } from '../lib/service.js';
import { deadlineAfter } from '../lib/deadline.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { createRedisClient, whenReady } from './redis-client.js';
import type { RedisClient, RedisConfig, RedisPurpose } from './redis-client.js';

export interface RedisConnectionsOptions {
  config: RedisConfig;
  log: Logger;
  metrics?: Metrics;
  /** How long start() waits for every connection before start-up fails. */
  connectTimeoutMs?: number;
}

export interface RedisHealth {
  readonly ok: boolean;
  /** The connections that are not ready, by name and state; absent when all are. */
  readonly detail?: string;
}

/**
 * Every Redis connection of the process, made from one config.redis: it knows
 * whether they are all up (readiness check 'redis' and the `redis_connected`
 * gauge), waits for them at start-up, and closes them last at shutdown.
 */
export class RedisConnections implements Service {
  readonly name = 'redis';
  private readonly clients = new Map<string, RedisClient>();
  private readonly log: Logger;
  private outage = false;
  private errorLogged = false;
  private stopping = false;

  constructor(private readonly o: RedisConnectionsOptions) {
    this.log = o.log.child({ module: 'redis' });
  }

  /**
   * A new connection, tracked from now on. Names are unique per process ("fanout-pub", "gateway-state", …).
   * Its 'error' listener is attached before it connects; an outage is logged once for the
   * whole process (lost, first error, back), not once per connection or reconnect attempt.
   */
  create(name: string, purpose: RedisPurpose = 'commands'): RedisClient {
    if (this.clients.has(name)) throw new Error(`a Redis connection named ${name} exists already`);
    let everReady = false;
    let up = false;
    const client = createRedisClient(this.o.config, purpose, name, { onError: (err) => this.onError(name, err) });
    this.clients.set(name, client);
    client.on('ready', () => {
      if (everReady) this.log.debug({ connection: name }, 'redis connection restored');
      everReady = true;
      up = true;
      this.publishState();
      if (!this.health().ok) return;
      if (this.outage) this.log.info({ connections: this.clients.size }, 'redis reconnected');
      this.outage = false;
      this.errorLogged = false;
    });
    client.on('close', () => {
      const wasUp = up;
      up = false;
      this.publishState();
      // A connection closed on purpose (its owner stopped) has reached 'end' by the next turn; a lost one is reconnecting.
      setImmediate(() => {
        if (!wasUp || this.stopping || client.status === 'end' || this.outage) return;
        this.outage = true;
        this.log.warn({ connection: name }, 'redis connection lost');
      });
    });
    client.on('end', () => this.publishState());
    this.publishState();
    return client;
  }

  /** For BullMQ, which takes a connect function: each call is a new, tracked connection; its command connections are of purpose `queue`. */
  connector(prefix: string): (purpose: 'commands' | 'blocking') => RedisClient {
    let count = 0;
    return (purpose) => {
      count += 1;
      return this.create(`${prefix}-${purpose}-${count}`, purpose === 'commands' ? 'queue' : purpose);
    };
  }

  health(): RedisHealth {
    const down = [...this.clients].filter(([, client]) => client.status !== 'ready');
    if (down.length === 0) return { ok: true };
    return { ok: false, detail: down.map(([name, client]) => `${name}: ${client.status}`).join(', ') };
  }

  async start(): Promise<void> {
    // Every connection waits on this one deadline (a dozen and more with queue partitions).
    const deadline = deadlineAfter(this.o.connectTimeoutMs ?? 30_000);
    try {
      await Promise.all([...this.clients.values()].map((client) => whenReady(client, deadline)));
    } catch (err) {
      throw new HeraldError('HERALD_REDIS_UNAVAILABLE', `Redis did not answer within ${this.o.connectTimeoutMs ?? 30_000} ms (${this.health().detail ?? ''})`, { cause: err });
    }
  }

  /** Closes every connection: politely (QUIT) while the deadline allows, then at once. */
  async stop(deadline: AbortSignal): Promise<void> {
    this.stopping = true;
    const clients = [...this.clients.values()];
    const aborted = new Promise<void>((resolve) => deadline.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([Promise.allSettled(clients.map((client) => (client.status === 'ready' ? client.quit() : client.disconnect()))), aborted]);
    for (const client of clients) client.disconnect();
    this.clients.clear();
    this.publishState();
  }

  /** ioredis reports every failed reconnect attempt: the first of an outage is logged, with its reason. */
  private onError(connection: string, err: Error): void {
    if (this.errorLogged || this.stopping) return;
    this.errorLogged = true;
    this.log.warn({ connection, message: err.message }, 'redis unreachable; retrying quietly until it answers');
  }

  private publishState(): void {
    this.o.metrics?.redisConnected.set(this.clients.size > 0 && this.health().ok ? 1 : 0);
  }
}
