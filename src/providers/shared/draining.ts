/**
 * What a reload replaced, kept until the batches already using it have ended: a session
 * pool or a connection agent (then closed), an app taken out of the configuration (then
 * its gauges dropped). A batch counts against what it uses from the moment the provider
 * hands it out, so nothing it is about to use is closed under it.
 */

/** Ends a replaced thing; `deadline` bounds a close that waits for the other side. */
export type Retire = (deadline: AbortSignal) => Promise<void> | void;

export class Draining {
  /** Batches running, per thing they use. */
  private readonly running = new Map<object, number>();
  private readonly retired = new Map<object, { retire: Retire; withinMs: number }>();
  private readonly closing = new Set<Promise<void>>();

  constructor(private readonly onError: (err: unknown) => void) {}

  /**
   * A batch starts using each of `uses`; call the function returned once, when it ends (its
   * BatchRun does as its results end: no wrapper around every result).
   */
  hold(uses: readonly object[]): () => void {
    for (const thing of uses) this.running.set(thing, (this.running.get(thing) ?? 0) + 1);
    return () => uses.forEach((thing) => this.release(thing));
  }

  /** Batches using `thing` right now. */
  using(thing: object): number {
    return this.running.get(thing) ?? 0;
  }

  /** `thing` was replaced: `retire` runs once no batch uses it (at once when none does), bounded by `withinMs`. */
  retire(thing: object, retire: Retire, withinMs: number): void {
    this.retired.set(thing, { retire, withinMs });
    if (!this.running.has(thing)) this.end(thing);
  }

  /** Shutdown: everything still waiting for its batches ends now, within `deadline`; resolves once every end has. */
  async closeAll(deadline: AbortSignal): Promise<void> {
    for (const thing of [...this.retired.keys()]) this.end(thing, deadline);
    await Promise.all(this.closing);
  }

  private release(thing: object): void {
    const left = (this.running.get(thing) ?? 1) - 1;
    if (left > 0) {
      this.running.set(thing, left);
      return;
    }
    this.running.delete(thing);
    this.end(thing);
  }

  /** Runs at once up to the retire's first wait: a gauge dropped here is gone when retire() returns. */
  private end(thing: object, deadline?: AbortSignal): void {
    const retired = this.retired.get(thing);
    if (!retired) return;
    this.retired.delete(thing);
    const closing = (async () => {
      try {
        await retired.retire(deadline ?? AbortSignal.timeout(retired.withinMs));
      } catch (err) {
        this.onError(err);
      }
    })();
    this.closing.add(closing);
    void closing.then(() => this.closing.delete(closing));
  }
}
