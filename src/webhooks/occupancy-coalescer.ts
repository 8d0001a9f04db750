import type { WebhookEvent } from './webhook-event.js';

/** The webhook events that describe who is in a channel; each has an opposite. */
export type OccupancyEvent =
  | { name: 'channel_occupied' | 'channel_vacated'; channel: string }
  | { name: 'member_added' | 'member_removed'; channel: string; user_id: string };

export function isOccupancyEvent(event: WebhookEvent): event is OccupancyEvent {
  return event.name === 'channel_occupied' || event.name === 'channel_vacated' || event.name === 'member_added' || event.name === 'member_removed';
}

export interface OccupancyCoalescerOptions {
  /** How long an app's events are held; the window opens at its first event. */
  windowMs: number;
  /** Per app: events let out per second; the rest stay held, still coalescing, for a later window. */
  maxPerSecond: number;
  emit: (app: string, event: OccupancyEvent) => void;
  /** Events that cancelled out (an event and its opposite) or repeated one already held. */
  onCoalesced: (app: string, count: number) => void;
  /** Events held over past a window because the app was over its rate. */
  onDeferred: (app: string, count: number) => void;
}

interface Held {
  readonly pending: Map<string, OccupancyEvent>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Holds an app's occupancy and member events for a window and lets out only the
 * net change: subscribe/unsubscribe churn (occupied then vacated, added then
 * removed) cancels out instead of becoming webhook jobs. What is held is at most
 * one event per channel (and per presence user), so it is bounded by occupancy.
 * Net state is never lost: over the rate, events wait, oldest first.
 */
export class OccupancyCoalescer {
  private readonly apps = new Map<string, Held>();
  private readonly budget: number;

  constructor(private readonly o: OccupancyCoalescerOptions) {
    this.budget = Math.max(1, Math.floor((o.maxPerSecond * o.windowMs) / 1000));
  }

  add(app: string, event: OccupancyEvent): void {
    let held = this.apps.get(app);
    if (!held) {
      held = { pending: new Map(), timer: undefined };
      this.apps.set(app, held);
      this.schedule(app, held);
    }
    const key = keyOf(event);
    const earlier = held.pending.get(key);
    if (earlier === undefined) held.pending.set(key, event);
    else if (earlier.name === event.name) this.o.onCoalesced(app, 1);
    else {
      held.pending.delete(key);
      this.o.onCoalesced(app, 2);
    }
  }

  /** Lets everything held out at once (shutdown). */
  flush(): void {
    for (const [app, held] of this.apps) {
      clearTimeout(held.timer);
      for (const event of held.pending.values()) this.o.emit(app, event);
    }
    this.apps.clear();
  }

  private schedule(app: string, held: Held): void {
    held.timer = setTimeout(() => this.release(app, held), this.o.windowMs);
    held.timer.unref();
  }

  private release(app: string, held: Held): void {
    let sent = 0;
    for (const [key, event] of held.pending) {
      if (sent >= this.budget) break;
      held.pending.delete(key);
      this.o.emit(app, event);
      sent += 1;
    }
    if (held.pending.size === 0) {
      this.apps.delete(app);
      return;
    }
    this.o.onDeferred(app, held.pending.size);
    this.schedule(app, held);
  }
}

function keyOf(event: OccupancyEvent): string {
  return event.name === 'member_added' || event.name === 'member_removed' ? `m\u0000${event.channel}\u0000${event.user_id}` : `c\u0000${event.channel}`;
}
