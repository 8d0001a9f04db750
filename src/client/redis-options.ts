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
}

/** The checked options: either a connection of the caller's or a complete configuration. */
export type CheckedRedisOptions =
  | { connection: Redis | Cluster; cluster: boolean; prefix: string; keyPrefix: string }
  | { config: RedisConfig; cluster: boolean; prefix: string; keyPrefix: string };

/**
 * Everything that can be wrong with the options, found without loading ioredis or
 * BullMQ, so the client refuses them at construction and loads its Redis transport
 * only when it is first used.
 */
export function checkRedisOptions(options: RedisTransportOptions): CheckedRedisOptions {
  const given = options.redis;
  const prefix = options.prefix ?? 'herald';
  let checked: CheckedRedisOptions;
  if (isConnection(given)) {
    checked = { connection: given, cluster: given.isCluster, prefix, keyPrefix: options.keyPrefix ?? 'herald' };
  } else {
    const config = redisConfig(given);
    checked = { config, cluster: config.mode === 'cluster', prefix, keyPrefix: options.keyPrefix ?? config.keyPrefix };
  }
  if (checked.cluster && !hasHashTag(prefix)) {
    throw new HeraldClientError('invalid', `prefix '${prefix}' needs a {hash tag} on a Redis Cluster (Herald's queue.prefix, e.g. "{herald}")`);
  }
  return checked;
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
