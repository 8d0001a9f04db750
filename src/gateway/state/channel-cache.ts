import type { Service } from '../../lib/service.js';
import type { ChannelRef } from './channel-state.js';

/** The last event published through the API on a cache channel. */
export interface CachedEvent {
  readonly event: string;
  /** The publisher's `data` string, unchanged. */
  readonly data: string;
}

export interface CacheEntry {
  readonly event: CachedEvent;
  /** Whole seconds until it expires, at least 1 while it is present. */
  readonly ttlSeconds: number;
}

/** Last-event store for cache channels; shared by every node when backed by Redis. */
export interface ChannelCache extends Service {
  /** Replaces the channel's cached event; it expires `ttlSeconds` after this call. */
  set(ref: ChannelRef, event: CachedEvent, ttlSeconds: number): Promise<void>;
  /** The cached event, or undefined once it has expired or when nothing was published. */
  get(ref: ChannelRef): Promise<CacheEntry | undefined>;
}
