import type { NotificationRef, StatusStore, TokenOutcome } from './status-store.js';

/**
 * Writes token outcomes to the status store as they arrive: everything that arrives
 * within one turn of the event loop goes out in one write, so the checkpoint trails the
 * provider by about one Redis round trip. `onRecorded` hears how many outcomes each
 * write settled (also a failed one: `failed` then says so and nothing more should be sent).
 */
export class CheckpointWriter {
  private buffer: TokenOutcome[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private readonly writing = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly store: StatusStore,
    private readonly notification: NotificationRef,
    private readonly onRecorded: (count: number) => void,
  ) {}

  get failed(): boolean {
    return this.failure !== undefined;
  }

  add(outcome: TokenOutcome): void {
    this.buffer.push(outcome);
    this.scheduled ??= setImmediate(() => this.write());
  }

  /** Writes what is buffered and waits until every write has landed; throws the first write error. */
  async flush(): Promise<void> {
    this.write();
    while (this.writing.size > 0) await Promise.race(this.writing);
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Ends the writer: waits for the writes under way, then hands what is still buffered to
   * `last` (one write that records it and more), and counts it recorded once that landed.
   * Throws like `flush` when an earlier write failed.
   */
  async finish<T>(last: (outcomes: readonly TokenOutcome[]) => Promise<T>): Promise<T> {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    while (this.writing.size > 0) await Promise.race(this.writing);
    if (this.failure !== undefined) await this.flush();
    const batch = this.buffer;
    this.buffer = [];
    try {
      return await last(batch);
    } finally {
      this.onRecorded(batch.length);
    }
  }

  private write(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    const settle = (): void => {
      this.writing.delete(writing);
      this.onRecorded(batch.length);
    };
    const writing: Promise<void> = this.store.record(this.notification, batch).then(settle, (err: unknown) => {
      this.failure ??= err;
      settle();
    });
    this.writing.add(writing);
  }
}
