import type { EventBus } from '../events.js';
import type { ChannelRef } from './state/channel-state.js';

/**
 * Announces channel_occupied/vacated and member_added/removed on the bus. With a
 * vacate delay, a "gone" is held back and dropped together with the matching
 * "back" when the channel (or user) returns within the delay, so a page reload does
 * not flap webhooks. Each node debounces what it observed.
 */
export class OccupancyEvents {
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; announce: () => void }>();

  constructor(
    private readonly events: EventBus,
    private readonly delayMs: number,
  ) {}

  occupied(ref: ChannelRef): void {
    if (!this.cancel(channelKey(ref))) this.events.emit('channel.occupied', { app: ref.app, channel: ref.channel });
  }

  vacated(ref: ChannelRef): void {
    this.hold(channelKey(ref), () => this.events.emit('channel.vacated', { app: ref.app, channel: ref.channel }));
  }

  memberAdded(ref: ChannelRef, userId: string): void {
    if (!this.cancel(memberKey(ref, userId))) this.events.emit('member.added', { app: ref.app, channel: ref.channel, userId });
  }

  memberRemoved(ref: ChannelRef, userId: string): void {
    this.hold(memberKey(ref, userId), () => this.events.emit('member.removed', { app: ref.app, channel: ref.channel, userId }));
  }

  /** Announces everything still held back, at once (shutdown). */
  flush(): void {
    for (const [key, held] of this.pending) {
      this.pending.delete(key);
      clearTimeout(held.timer);
      held.announce();
    }
  }

  private hold(key: string, announce: () => void): void {
    if (this.delayMs === 0) {
      announce();
      return;
    }
    clearTimeout(this.pending.get(key)?.timer);
    const timer = setTimeout(() => {
      this.pending.delete(key);
      announce();
    }, this.delayMs);
    timer.unref();
    this.pending.set(key, { timer, announce });
  }

  private cancel(key: string): boolean {
    const held = this.pending.get(key);
    if (!held) return false;
    clearTimeout(held.timer);
    this.pending.delete(key);
    return true;
  }
}

function channelKey(ref: ChannelRef): string {
  return `${ref.app}\u0000${ref.channel}`;
}

function memberKey(ref: ChannelRef, userId: string): string {
  return `${ref.app}\u0000${ref.channel}\u0000${userId}`;
}
