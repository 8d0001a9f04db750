import type { RedisClient } from '../../../redis/redis-client.js';
import type { CacheEntry, CachedEvent, ChannelCache } from '../channel-cache.js';
import type { ChannelRef } from '../channel-state.js';
import { GatewayKeys } from './keys.js';

export interface RedisChannelCacheOptions {
  /** A `commands` connection. */
  client: RedisClient;
  keyPrefix: string;
}

/**
 * Cache-channel last events shared by every node: one key per channel holding the
 * event as JSON, expiring with Redis' own TTL (nothing to sweep).
 */
export class RedisChannelCache implements ChannelCache {
  readonly name = 'channel-cache';
  private readonly keys: GatewayKeys;

  constructor(private readonly o: RedisChannelCacheOptions) {
    this.keys = new GatewayKeys(o.keyPrefix);
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async set(ref: ChannelRef, event: CachedEvent, ttlSeconds: number): Promise<void> {
    await this.o.client.set(this.keys.cache(ref), JSON.stringify({ event: event.event, data: event.data }), 'EX', ttlSeconds);
  }

  async get(ref: ChannelRef): Promise<CacheEntry | undefined> {
    const key = this.keys.cache(ref);
    // One key, one slot: a pipeline is fine on a Cluster too.
    const replies = await this.o.client.multi().get(key).pttl(key).exec();
    const [text, ttlMs] = (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    if (typeof text !== 'string' || typeof ttlMs !== 'number' || ttlMs <= 0) return undefined;
    const event = parseCached(text);
    return event ? { event, ttlSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) } : undefined;
  }
}

/** Anything but our own JSON shape (a foreign writer, a corrupted value) reads as a miss. */
function parseCached(text: string): CachedEvent | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (value !== null && typeof value === 'object') {
      const { event, data } = value as Record<string, unknown>;
      if (typeof event === 'string' && typeof data === 'string') return { event, data };
    }
  } catch {
    // fall through
  }
  return undefined;
}
