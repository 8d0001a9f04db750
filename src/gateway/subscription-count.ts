import type { ChannelRef } from './state/channel-state.js';

/** Above this many subscribers, counts are sent at most once per interval, as Pusher does. */
export const LARGE_CHANNEL_SUBSCRIBERS = 100;
export const LARGE_CHANNEL_INTERVAL_MS = 30_000;

/**
 * Decides when a channel's subscription_count goes out. Small channels get every
 * change at once; large ones at most one per interval, the last count always sent.
 */
export class SubscriptionCountThrottle {
  private readonly lastSent = new Map<string, number>();
  private readonly trailing = new Map<string, { timer: NodeJS.Timeout; count: number }>();

  constructor(
    private readonly send: (ref: ChannelRef, count: number) => void,
    private readonly intervalMs = LARGE_CHANNEL_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  changed(ref: ChannelRef, count: number): void {
    const key = `${ref.app}\u0000${ref.channel}`;
    const pending = this.trailing.get(key);
    if (count <= LARGE_CHANNEL_SUBSCRIBERS && !pending) {
      this.emit(key, ref, count);
      return;
    }
    if (pending) {
      pending.count = count;
      return;
    }
    const wait = (this.lastSent.get(key) ?? Number.NEGATIVE_INFINITY) + this.intervalMs - this.now();
    if (wait <= 0) {
      this.emit(key, ref, count);
      return;
    }
    const entry = {
      count,
      timer: setTimeout(() => {
        this.trailing.delete(key);
        this.emit(key, ref, entry.count);
      }, wait).unref(),
    };
    this.trailing.set(key, entry);
  }

  stop(): void {
    for (const { timer } of this.trailing.values()) clearTimeout(timer);
    this.trailing.clear();
  }

  private emit(key: string, ref: ChannelRef, count: number): void {
    // Only large counts open a throttle window: a channel growing past the threshold reports at once.
    if (count > LARGE_CHANNEL_SUBSCRIBERS) this.lastSent.set(key, this.now());
    else this.lastSent.delete(key);
    this.send(ref, count);
  }
}
