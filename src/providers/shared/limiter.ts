/**
 * A counting bound whose capacity can change while it is in use (Apple raises and
 * lowers its stream limit at run time). It never queues promises: callers try to take
 * a slot and, when none is free, register to be granted one.
 *
 * A released slot is handed to the longest-waiting caller directly (it stays counted
 * as in use), so one release wakes one waiter: with dozens of batches of one app
 * waiting, waking them all for every answer cost more CPU than the requests themselves
 * and let the first to resume, not the first to wait, take the slot. Capacity changes,
 * which may free several slots at once, are announced to every resize listener; the
 * other announcements (a stream answered, a credentials probe ended) reach only those
 * that asked for the next one — thousands of one-token batches of an app are not all
 * called for every answer.
 */
export class ConcurrencyLimiter {
  private used = 0;
  private readonly resizeListeners = new Set<() => void>();
  private readonly nextChangeListeners = new Set<() => void>();
  /** The capacity listeners were last told about. */
  private announced: number | undefined;
  /** Callbacks waiting for a slot, oldest first; each is called once with the slot it now holds. */
  private readonly waiters = new Set<() => void>();

  constructor(private readonly capacity: () => number) {}

  get inUse(): number {
    return this.used;
  }

  get limit(): number {
    return this.capacity();
  }

  tryAcquire(): boolean {
    if (this.used >= this.capacity()) return false;
    this.used += 1;
    return true;
  }

  /**
   * Calls `granted` once a slot is held on the caller's behalf (then the caller owns it
   * and must release it, used or not). Returns a cancel function for a caller that no
   * longer waits; cancelling after the grant changes nothing.
   */
  whenFree(granted: () => void): () => void {
    this.waiters.add(granted);
    this.grantFree();
    return () => this.waiters.delete(granted);
  }

  /** Gives the slot to the oldest waiter, or frees it. */
  release(): void {
    if (this.used === 0) throw new Error('ConcurrencyLimiter released more often than acquired');
    const next = this.used <= this.capacity() ? this.nextWaiter() : undefined;
    if (next) next();
    else this.used -= 1;
  }

  /**
   * Announces a possible capacity change (or anything waiters should re-check);
   * listeners learn whether the capacity is in fact different from the last announcement.
   */
  changed(): void {
    this.grantFree();
    const capacity = this.capacity();
    const resized = capacity !== this.announced;
    this.announced = capacity;
    if (resized) for (const listener of [...this.resizeListeners]) listener();
    if (this.nextChangeListeners.size === 0) return;
    const once = [...this.nextChangeListeners];
    this.nextChangeListeners.clear();
    for (const listener of once) listener();
  }

  /** Called at every announcement whose capacity differs from the last one's, until unsubscribed. */
  onResize(listener: () => void): () => void {
    this.resizeListeners.add(listener);
    return () => this.resizeListeners.delete(listener);
  }

  /** Called once, at the next announcement of any kind (unless unsubscribed before). */
  onNextChange(listener: () => void): () => void {
    this.nextChangeListeners.add(listener);
    return () => this.nextChangeListeners.delete(listener);
  }

  private grantFree(): void {
    while (this.used < this.capacity()) {
      const next = this.nextWaiter();
      if (!next) return;
      this.used += 1;
      next();
    }
  }

  private nextWaiter(): (() => void) | undefined {
    for (const waiter of this.waiters) {
      this.waiters.delete(waiter);
      return waiter;
    }
    return undefined;
  }
}
