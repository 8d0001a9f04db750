/**
 * Metric writes of the hot path, summed in memory and written once per turn of the event
 * loop: an APNs request used to make four label-hashed counter and gauge updates on its
 * own, a broadcast of 100,000 tokens 400,000. A scrape writes what is pending first, so
 * it never reads a figure a turn behind.
 */
export class DeferredWrites {
  private readonly dirty = new Set<() => void>();
  private scheduled: NodeJS.Immediate | undefined;

  /** Runs `flush` at the end of this turn, or at the next scrape if that comes first; once, however often marked. */
  mark(flush: () => void): void {
    this.dirty.add(flush);
    this.scheduled ??= setImmediate(() => this.flush());
  }

  flush(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const flushes = [...this.dirty];
    this.dirty.clear();
    for (const flush of flushes) flush();
  }
}
