/**
 * At most `limit` events in any `windowMs` sliding window: a ring of the last
 * `limit` accepted timestamps, so an exact answer costs O(1) and `limit` numbers.
 */
export class SlidingWindowLimiter {
  private readonly stamps: number[];
  private next = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.stamps = new Array<number>(Math.max(0, limit)).fill(Number.NEGATIVE_INFINITY);
  }

  /** Records the event and returns true, or returns false (and records nothing) when over the limit. */
  tryTake(): boolean {
    if (this.limit === 0) return false;
    const now = this.now();
    const oldest = this.stamps[this.next] ?? Number.NEGATIVE_INFINITY;
    if (now - oldest < this.windowMs) return false;
    this.stamps[this.next] = now;
    this.next = (this.next + 1) % this.limit;
    return true;
  }
}
