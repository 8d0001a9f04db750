/**
 * Device tokens of one app handed to the provider whose outcome is not yet recorded:
 * requests in flight at APNs, results on their way to the checkpoint, and tokens queued
 * inside the provider for a free stream. Tokens are handed over only within the budget,
 * so after a crash at most `capacity` tokens of an app can have an unknown outcome (and
 * go out twice), however many chunks were running.
 */
export class SendBudget {
  private outstanding = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {}

  get available(): number {
    return Math.max(0, this.capacity - this.outstanding);
  }

  take(count: number): void {
    this.outstanding += count;
  }

  release(count: number): void {
    if (count <= 0) return;
    this.outstanding -= count;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the next release. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** Results received but not yet recorded, on top of the APNs stream limit, in an app's budget. */
export const CHECKPOINT_WINDOW = 64;
