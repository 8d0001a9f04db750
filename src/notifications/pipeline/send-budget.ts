/**
 * Device tokens of one app handed to the provider whose outcome is not yet recorded:
 * requests in flight at APNs, results on their way to the checkpoint, and tokens queued
 * inside the provider for a free stream. Tokens are handed over only within the budget,
 * so after a crash at most `capacity` tokens of an app can have an unknown outcome (and
 * go out twice), however many chunks were running.
 *
 * Rounds waiting for room are woken first in, first out, only as many as the room freed
 * can serve: thousands of one-token rounds waiting behind a full budget are not all woken
 * by every token's release (docs/performance.md "Second pass on the one-token path"), and a large round keeps
 * its place among them.
 */
export class SendBudget {
  private outstanding = 0;
  private readonly waiters = new Set<Waiter>();
  private recheck: NodeJS.Immediate | undefined;

  constructor(readonly capacity: number) {}

  get available(): number {
    return Math.max(0, this.capacity - this.outstanding);
  }

  /** Rounds waiting for room: a newcomer queues behind them rather than take room they were woken for. */
  get waiting(): number {
    return this.waiters.size;
  }

  take(count: number): void {
    this.outstanding += count;
  }

  release(count: number): void {
    if (count <= 0) return;
    this.outstanding -= count;
    this.wake();
  }

  /**
   * Resolves when room may be there for `want` tokens (at least one), in turn with the
   * other waiters; `cancel` drops the wait (a round that went on for another reason).
   */
  wait(want: number): { ready: Promise<void>; cancel(): void } {
    let waiter!: Waiter;
    const ready = new Promise<void>((resolve) => {
      waiter = { want: Math.max(1, want), resolve };
    });
    this.waiters.add(waiter);
    this.wake();
    return { ready, cancel: () => this.waiters.delete(waiter) };
  }

  /** Wakes waiters in order while the room lasts; a later turn serves room a woken one left. */
  private wake(): void {
    let room = this.available;
    if (room === 0 || this.waiters.size === 0) return;
    for (const waiter of this.waiters) {
      if (room <= 0) break;
      room -= waiter.want;
      this.waiters.delete(waiter);
      waiter.resolve();
    }
    // A woken round may find its room taken, or stop: once they all ran, what is left goes on.
    if (this.waiters.size > 0 && this.recheck === undefined) {
      this.recheck = setImmediate(() => {
        this.recheck = undefined;
        this.wake();
      });
    }
  }
}

interface Waiter {
  want: number;
  resolve(): void;
}

/** Results received but not yet recorded, on top of the APNs stream limit, in an app's budget. */
export const CHECKPOINT_WINDOW = 64;
