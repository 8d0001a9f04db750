import type { Cluster, Redis } from 'ioredis';
import { hasHashTag } from '../lib/hash-tag.js';
import { redisConfigured } from '../lib/redis-configured.js';
import type { RedisConfig } from '../redis/redis-client.js';
import { HeraldClientError } from './client-error.js';

/**
 * Herald's `redis` settings (the same keys as its configuration), for a Redis
 * behind Sentinel or a Cluster: `{ mode: 'sentinel', sentinels, sentinelName }`,
 * `{ mode: 'cluster', clusterNodes }`, or `{ url }`.
 */
export interface RedisSettings {
  url?: string;
  mode?: 'single' | 'sentinel' | 'cluster';
  sentinels?: ReadonlyArray<{ host: string; port: number }>;
  sentinelName?: string;
  clusterNodes?: ReadonlyArray<{ host: string; port: number }>;
  /** Herald's `redis.keyPrefix`; used for status unless the client's `keyPrefix` is given. */
  keyPrefix?: string;
}

export interface RedisTransportOptions {
  /**
   * A redis:// URL or Herald's `redis` settings (the client opens and closes its
   * connections, made as the daemon makes them), or a connection of yours (left open).
   */
  redis: string | RedisSettings | Redis | Cluster;
  /** Herald's `queue.prefix`; default `herald`. */
  prefix?: string;
  /** Herald's `redis.keyPrefix`, under which notification status lives; default `herald`. */
  keyPrefix?: string;
  app: string;
  /** Herald's `queue.partitions` (1–64); default 1. Must equal the daemon's: it decides where jobs and status records live. */
  partitions?: number;
  /** Herald's `queue.chunkSize` (1–10,000); default 500. Must equal the daemon's: a status record counts its chunks. */
  chunkSize?: number;
  /** Herald's `queue.statusRetentionSeconds`; default 86,400. How long a status record this client creates is kept (beyond its `sendAt`). */
  statusRetentionSeconds?: number;
}

/** What the options say beyond the connection: where Herald keeps things, and how it counts them. */
export interface QueueLayout {
  prefix: string;
  keyPrefix: string;
  partitions: number;
  chunkSize: number;
  statusRetentionSeconds: number;
}

/** The checked options: either a connection of the caller's or a complete configuration. */
export type CheckedRedisOptions = QueueLayout & { cluster: boolean } & ({ connection: Redis | Cluster } | { config: RedisConfig });

/**
 * Everything that can be wrong with the options, found without loading ioredis or
 * BullMQ, so the client refuses them at construction and loads its Redis transport
 * only when it is first used.
 */
export function checkRedisOptions(options: RedisTransportOptions): CheckedRedisOptions {
  const given = options.redis;
  const prefix = options.prefix ?? 'herald';
  const layout = {
    prefix,
    partitions: integerOption('partitions', options.partitions, 1, 1, 64),
    chunkSize: integerOption('chunkSize', options.chunkSize, 500, 1, 10_000),
    statusRetentionSeconds: integerOption('statusRetentionSeconds', options.statusRetentionSeconds, 24 * 3600, 1, Number.MAX_SAFE_INTEGER),
  };
  let checked: CheckedRedisOptions;
  if (isConnection(given)) {
    checked = { ...layout, connection: given, cluster: given.isCluster, keyPrefix: options.keyPrefix ?? 'herald' };
  } else {
    const config = redisConfig(given);
    checked = { ...layout, config, cluster: config.mode === 'cluster', keyPrefix: options.keyPrefix ?? config.keyPrefix };
  }
  if (checked.cluster && !hasHashTag(prefix)) {
    throw new HeraldClientError('invalid', `prefix '${prefix}' needs a {hash tag} on a Redis Cluster (Herald's queue.prefix, e.g. "{herald}")`);
  }
  return checked;
}

/** An integer setting within Herald's own bounds for it (config/schema.ts), or its default. */
function integerOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
    throw new HeraldClientError('invalid', `${name} must be ${range} (Herald's queue.${name})`, { path: name });
  }
  return value;
}

/** An ioredis connection (Redis or Cluster), told apart from settings by its methods. */
function isConnection(value: RedisTransportOptions['redis']): value is Redis | Cluster {
  return typeof value === 'object' && typeof (value as { duplicate?: unknown }).duplicate === 'function';
}

/** A URL or settings as a complete `redis` configuration, refused when it names no Redis. */
function redisConfig(given: string | RedisSettings): RedisConfig {
  const settings = typeof given === 'string' ? { url: given } : given;
  const config: RedisConfig = {
    ...(settings.url === undefined ? {} : { url: settings.url }),
    mode: settings.mode ?? 'single',
    sentinels: (settings.sentinels ?? []).map(({ host, port }) => ({ host, port })),
    ...(settings.sentinelName === undefined ? {} : { sentinelName: settings.sentinelName }),
    clusterNodes: (settings.clusterNodes ?? []).map(({ host, port }) => ({ host, port })),
    keyPrefix: settings.keyPrefix ?? 'herald',
  };
  if (config.url !== undefined && !/^rediss?:\/\/./.test(config.url)) throw new HeraldClientError('invalid', 'redis must be a redis:// or rediss:// URL');
  if (!redisConfigured(config)) throw new HeraldClientError('invalid', 'redis names no server: give a url, or mode sentinel with sentinels and sentinelName, or mode cluster with clusterNodes');
  if (config.mode === 'sentinel' && (config.sentinels.length === 0 || config.sentinelName === undefined)) {
    throw new HeraldClientError('invalid', 'redis mode sentinel needs sentinels and sentinelName');
  }
  return config;
}
