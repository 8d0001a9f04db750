/**
 * A counting bound whose capacity can change while it is in use (Apple raises and
 * lowers its stream limit at run time). It never queues promises: callers try to take
 * a slot and, when none is free, wait for the next change, which is announced to every
 * listener. Several batches of one app share one limiter; whichever resumes first takes
 * the freed slot.
 */
export class ConcurrencyLimiter {
  private used = 0;
  private readonly listeners = new Set<() => void>();

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

  release(): void {
    if (this.used === 0) throw new Error('ConcurrencyLimiter released more often than acquired');
    this.used -= 1;
    this.changed();
  }

  /** Announces a capacity change (or anything waiters should re-check). */
  changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
