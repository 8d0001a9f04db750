/** The parts of a `redis` configuration that say whether it names a server. */
export interface RedisTarget {
  url?: string | undefined;
  mode: 'single' | 'sentinel' | 'cluster';
  clusterNodes: ReadonlyArray<unknown>;
}

/**
 * True when the configuration points at a Redis (any deployment shape). Kept free of
 * ioredis so herald/client can check its settings without loading the driver.
 */
export function redisConfigured(config: RedisTarget): boolean {
  return config.url !== undefined || config.mode === 'sentinel' || (config.mode === 'cluster' && config.clusterNodes.length > 0);
}
