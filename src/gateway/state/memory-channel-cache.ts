import type { ChannelRef } from './channel-state.js';
import type { CacheEntry, CachedEvent, ChannelCache } from './channel-cache.js';

interface Stored {
  readonly event: CachedEvent;
  readonly expiresAt: number;
}

export interface MemoryChannelCacheOptions {
  /** Milliseconds clock; tests pass a fake one. */
  now?: () => number;
  /** How often expired entries are swept so abandoned channels do not pile up. */
  sweepIntervalMs?: number;
}

/** ChannelCache for a single process. Expiry is checked on read and swept periodically. */
export class MemoryChannelCache implements ChannelCache {
  readonly name = 'channel-cache';
  private readonly entries = new Map<string, Stored>();
  private readonly now: () => number;
  private readonly sweepIntervalMs: number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: MemoryChannelCacheOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  }

  async start(): Promise<void> {
    this.sweeper ??= setInterval(() => this.sweep(), this.sweepIntervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  async set(ref: ChannelRef, event: CachedEvent, ttlSeconds: number): Promise<void> {
    this.entries.set(keyOf(ref), { event: { event: event.event, data: event.data }, expiresAt: this.now() + ttlSeconds * 1000 });
  }

  async get(ref: ChannelRef): Promise<CacheEntry | undefined> {
    const key = keyOf(ref);
    const stored = this.entries.get(key);
    if (!stored) return undefined;
    const remainingMs = stored.expiresAt - this.now();
    if (remainingMs <= 0) {
      this.entries.delete(key);
      return undefined;
    }
    return { event: stored.event, ttlSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) };
  }

  /** Drops every expired entry; returns how many. */
  sweep(): number {
    const now = this.now();
    let dropped = 0;
    for (const [key, stored] of this.entries) {
      if (stored.expiresAt <= now) {
        this.entries.delete(key);
        dropped += 1;
      }
    }
    return dropped;
  }
}

function keyOf(ref: ChannelRef): string {
  return `${ref.app}\u0000${ref.channel}`;
}
