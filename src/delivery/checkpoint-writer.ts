import type { StatusStore, TokenOutcome } from './status-store.js';

/**
 * Writes token outcomes to the status store as they arrive: everything that arrives
 * within one turn of the event loop goes out in one write, so the checkpoint trails the
 * provider by about one round trip. When writes fall behind, `add` hands back a promise
 * the caller awaits before taking more results: memory stays bounded and the provider,
 * whose results are pulled lazily, slows down with it.
 */
export class CheckpointWriter {
  private buffer: TokenOutcome[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private readonly writing = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly store: StatusStore,
    private readonly notificationId: string,
    private readonly limits: { maxWrites: number; maxBuffered: number } = { maxWrites: 4, maxBuffered: 2_000 },
  ) {}

  /** Queues one outcome; returns a promise to await when the writer is behind. */
  add(outcome: TokenOutcome): Promise<void> | undefined {
    this.throwIfFailed();
    this.buffer.push(outcome);
    this.scheduled ??= setImmediate(() => this.write());
    if (this.writing.size >= this.limits.maxWrites || this.buffer.length >= this.limits.maxBuffered) {
      return Promise.race(this.writing).then(() => this.throwIfFailed());
    }
    return undefined;
  }

  /** Writes what is buffered and waits until every write has landed; throws the first write error. */
  async flush(): Promise<void> {
    this.write();
    while (this.writing.size > 0) await Promise.all(this.writing);
    this.throwIfFailed();
  }

  private write(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    const writing: Promise<void> = this.store.record(this.notificationId, batch).then(
      () => {
        this.writing.delete(writing);
      },
      (err: unknown) => {
        this.failure ??= err;
        this.writing.delete(writing);
      },
    );
    this.writing.add(writing);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
