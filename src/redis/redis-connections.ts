import { HeraldError } from '../errors.js';
import type { Service } from '../lib/service.js';
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

  constructor(private readonly o: RedisConnectionsOptions) {
    this.log = o.log.child({ module: 'redis' });
  }

  /** A new connection, tracked from now on. Names are unique per process ("adapter-pub", "state", …). */
  create(name: string, purpose: RedisPurpose = 'commands'): RedisClient {
    if (this.clients.has(name)) throw new Error(`a Redis connection named ${name} exists already`);
    const client = createRedisClient(this.o.config, purpose, name);
    this.clients.set(name, client);
    let everReady = false;
    let up = false;
    client.on('ready', () => {
      if (everReady) this.log.info({ connection: name }, 'redis reconnected');
      everReady = true;
      up = true;
      this.publishState();
    });
    client.on('close', () => {
      // Logged once per outage, not once per failed reconnect attempt.
      if (up) this.log.warn({ connection: name }, 'redis connection lost');
      up = false;
      this.publishState();
    });
    client.on('end', () => this.publishState());
    // ioredis emits 'error' on every failed reconnect; the state change is what matters, logged above.
    client.on('error', (err: Error) => this.log.debug({ connection: name, message: err.message }, 'redis connection error'));
    this.publishState();
    return client;
  }

  /** For modules that take a connect function (BullMQ): each call is a new, tracked connection. */
  connector(prefix: string): (purpose: 'commands' | 'blocking') => RedisClient {
    let count = 0;
    return (purpose) => {
      count += 1;
      return this.create(`${prefix}-${purpose}-${count}`, purpose);
    };
  }

  health(): RedisHealth {
    const down = [...this.clients].filter(([, client]) => client.status !== 'ready');
    if (down.length === 0) return { ok: true };
    return { ok: false, detail: down.map(([name, client]) => `${name}: ${client.status}`).join(', ') };
  }

  async start(): Promise<void> {
    const deadline = AbortSignal.timeout(this.o.connectTimeoutMs ?? 30_000);
    try {
      await Promise.all([...this.clients.values()].map((client) => whenReady(client, deadline)));
    } catch (err) {
      throw new HeraldError('HERALD_REDIS_UNAVAILABLE', `Redis did not answer within ${this.o.connectTimeoutMs ?? 30_000} ms (${this.health().detail ?? ''})`, { cause: err });
    }
  }

  /** Closes every connection: politely (QUIT) while the deadline allows, then at once. */
  async stop(deadline: AbortSignal): Promise<void> {
    const clients = [...this.clients.values()];
    const aborted = new Promise<void>((resolve) => deadline.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([Promise.allSettled(clients.map((client) => (client.status === 'ready' ? client.quit() : client.disconnect()))), aborted]);
    for (const client of clients) client.disconnect();
    this.clients.clear();
    this.publishState();
  }

  private publishState(): void {
    this.o.metrics?.redisConnected.set(this.clients.size > 0 && this.health().ok ? 1 : 0);
  }
}
