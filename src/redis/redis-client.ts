import { Cluster, Redis } from 'ioredis';
import type { HeraldConfig } from '../config/load.js';
import { backoffDelay } from '../lib/backoff.js';

export type RedisConfig = HeraldConfig['redis'];

/** A single server (direct or found through Sentinel) or a Cluster; both speak every command Herald uses. */
export type RedisClient = Redis | Cluster;

/**
 * What a connection is for decides how it behaves while Redis is away:
 * - `commands`: fails a command at once instead of queueing it, so nothing piles up
 *   in memory and a caller (a subscribe, an HTTP query) gets an answer;
 * - `subscriber`: pub/sub only; its subscriptions are renewed after every reconnect;
 * - `queue`: BullMQ's command connections: as `commands`, without auto-pipelining
 *   (BullMQ defines some 60 scripts on a connection, and ioredis copies every one into
 *   each pipeline it makes: ≈ 55 µs a pipeline, more than batching saves; docs/performance.md);
 * - `blocking`: BullMQ workers, which must wait for Redis rather than fail.
 */
export type RedisPurpose = 'commands' | 'queue' | 'subscriber' | 'blocking';

/** Reconnect forever: first retry after ~50 ms, then doubling with jitter up to one second. */
const reconnectPolicy = { baseMs: 50, maxMs: 1_000 };
/** A command that gets no reply within this is failed (a hung Redis must not hang a subscribe). */
const COMMAND_TIMEOUT_MS = 5_000;

export function reconnectDelay(attempt: number): number {
  return backoffDelay(attempt, reconnectPolicy);
}

/** True when the configuration points Herald at a Redis (any deployment shape). */
export { redisConfigured } from '../lib/redis-configured.js';

/** The ioredis options Herald sets; everything else keeps ioredis' default. */
interface ConnectionSettings {
  connectionName: string;
  retryStrategy: (attempt: number) => number;
  enableOfflineQueue: boolean;
  enableAutoPipelining: boolean;
  maxRetriesPerRequest: number | null;
  reconnectOnError: (err: Error) => boolean;
  commandTimeout?: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: Record<string, never>;
  lazyConnect?: boolean;
}

export interface CreateClientOptions {
  /**
   * Required: ioredis emits 'error' on every failed reconnect and prints
   * "[ioredis] Unhandled error event" when nobody listens, so every connection
   * is made with its listener already attached.
   */
  onError: (err: Error) => void;
  /** Connect on the first connect() call (a producer that may never send) instead of at once. */
  lazyConnect?: boolean;
}

/**
 * Creates one connection of the configured shape. `name` shows in CLIENT LIST, which helps an operator.
 * In the daemon use RedisConnections, which tracks and reports every connection it makes.
 */
export function createRedisClient(config: RedisConfig, purpose: RedisPurpose, name: string, options: CreateClientOptions): RedisClient {
  const client = connectionOfShape(config, purpose, name, options.lazyConnect === true);
  client.on('error', options.onError);
  return client;
}

function connectionOfShape(config: RedisConfig, purpose: RedisPurpose, name: string, lazyConnect: boolean): RedisClient {
  const settings: ConnectionSettings = {
    ...credentialsOf(config.url),
    ...purposeSettings(purpose),
    reconnectOnError: demotedMaster,
    connectionName: `herald:${name}`,
    ...(lazyConnect ? { lazyConnect } : {}),
  };
  if (config.mode === 'cluster') {
    const nodes = config.clusterNodes.length > 0 ? config.clusterNodes.map(({ host, port }) => ({ host, port })) : [hostOf(config.url)];
    const { enableOfflineQueue, enableAutoPipelining, lazyConnect: lazy, retryStrategy: _perNode, ...redisOptions } = settings;
    return new Cluster(nodes, {
      redisOptions,
      enableOfflineQueue,
      enableAutoPipelining,
      ...(lazy ? { lazyConnect: lazy } : {}),
      clusterRetryStrategy: (attempt) => reconnectDelay(attempt),
      clusterNodeRetryStrategy: (attempt) => reconnectDelay(attempt),
      // Sharded pub/sub (SSUBSCRIBE) needs one subscriber per shard; only the subscriber connection asks for it.
      shardedSubscribers: purpose === 'subscriber',
    });
  }
  if (config.mode === 'sentinel') {
    // failoverDetector: follow +switch-master at once instead of waiting for the old master to fail.
    return new Redis({ ...settings, sentinels: config.sentinels.map(({ host, port }) => ({ host, port })), name: config.sentinelName ?? 'mymaster', failoverDetector: true });
  }
  if (config.url === undefined) throw new Error('redis.url is required in single mode');
  return new Redis(config.url, settings);
}

/** A master demoted by a failover answers writes with READONLY: reconnect, which finds the new master. */
function demotedMaster(err: Error): boolean {
  return err.message.startsWith('READONLY');
}

function purposeSettings(purpose: RedisPurpose): Omit<ConnectionSettings, 'connectionName' | 'reconnectOnError' | 'lazyConnect'> {
  const retryStrategy = (attempt: number): number => reconnectDelay(attempt);
  switch (purpose) {
    case 'commands':
    case 'queue':
      return { retryStrategy, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS, enableAutoPipelining: purpose === 'commands' };
    case 'subscriber':
      // Only SUBSCRIBE commands are ever queued here, a handful: safe to keep while reconnecting.
      return { retryStrategy, enableOfflineQueue: true, maxRetriesPerRequest: null, enableAutoPipelining: false };
    case 'blocking':
      return { retryStrategy, enableOfflineQueue: true, maxRetriesPerRequest: null, enableAutoPipelining: false };
  }
}

/** Username, password, database and TLS from a redis:// or rediss:// URL (Sentinel and Cluster take their hosts elsewhere). */
function credentialsOf(url: string | undefined): Partial<ConnectionSettings> {
  if (url === undefined) return {};
  const parsed = new URL(url);
  const options: Partial<ConnectionSettings> = {};
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  const db = Number(parsed.pathname.slice(1));
  if (parsed.pathname.length > 1 && Number.isInteger(db)) options.db = db;
  if (parsed.protocol === 'rediss:') options.tls = {};
  return options;
}

function hostOf(url: string | undefined): { host: string; port: number } {
  if (url === undefined) throw new Error('redis.clusterNodes or redis.url is required in cluster mode');
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 6379) };
}

/** Resolves once the client is ready; rejects when `signal` aborts first. */
export function whenReady(client: RedisClient, signal: AbortSignal): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => {
      client.off('ready', onReady);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    client.once('ready', onReady);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
