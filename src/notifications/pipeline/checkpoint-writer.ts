import { setLongTimeout } from '../../lib/long-timer.js';
import type { LongTimer } from '../../lib/long-timer.js';
import type { NotificationRef, StatusStore, TokenCheckpoint } from '../status/status-store.js';

/** A failed write is tried again after this, doubling up to the cap, until Redis answers. */
const REWRITE_BASE_MS = 100;
const REWRITE_MAX_MS = 2_000;

/**
 * Writes token checkpoints to the status store as they arrive: everything that arrives
 * within one turn of the event loop goes out in one write, so the checkpoint trails the
 * provider by about one Redis round trip. `onRecorded` hears how many checkpoints each
 * write settled, and only once they are recorded: a failed write keeps its checkpoints (and
 * their tokens' place in the send budget) and is written again until Redis answers, so
 * a token whose checkpoint is unknown to the store always counts against the budget.
 * While a write is failing, `failed` is true and nothing more should be sent.
 */
export class CheckpointWriter {
  private buffer: TokenCheckpoint[] = [];
  /** Outcomes whose write failed, waiting for the next rewrite. */
  private unrecorded: TokenCheckpoint[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private rewrite: LongTimer | undefined;
  private rewrites = 0;
  private rewriteWaiters: Array<() => void> = [];
  private readonly writing = new Set<Promise<void>>();
  private lastError: unknown;

  constructor(
    private readonly store: StatusStore,
    private readonly notification: NotificationRef,
    private readonly onRecorded: (count: number) => void,
  ) {}

  get failed(): boolean {
    return this.unrecorded.length > 0 || this.rewrite !== undefined;
  }

  add(checkpoint: TokenCheckpoint): void {
    this.buffer.push(checkpoint);
    this.scheduled ??= setImmediate(() => this.write());
  }

  /**
   * Writes what is buffered and waits until every checkpoint is recorded, waiting out a
   * failing store. Only when `signal` aborts (the process is stopping) does it give up:
   * the checkpoints it holds are released and the last write error is thrown (their tokens
   * will be sent again by the job's next run: at most the send budget).
   */
  async flush(signal?: AbortSignal): Promise<void> {
    for (;;) {
      this.write();
      while (this.writing.size > 0) await Promise.race(this.writing);
      if (!this.failed && this.buffer.length === 0) return;
      if (signal?.aborted) {
        this.abandon();
        throw this.lastError;
      }
      await this.nextRewrite(signal);
    }
  }

  /**
   * Ends the writer: waits until everything written so far is recorded, then hands what
   * is still buffered to `last` (one write that records it and more), and counts it
   * recorded once that landed. When `last` fails, its checkpoints are recorded on their own
   * (waiting for the store like `flush`) before its error is thrown, so the job's retry
   * finds them settled instead of sending them again.
   */
  async finish<T>(last: (checkpoints: readonly TokenCheckpoint[]) => Promise<T>, signal?: AbortSignal): Promise<T> {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const pending = this.buffer;
    this.buffer = [];
    while (this.writing.size > 0) await Promise.race(this.writing);
    if (this.failed) await this.flush(signal);
    const batch = pending.concat(this.buffer);
    this.buffer = [];
    let result: T;
    try {
      result = await last(batch);
    } catch (err) {
      this.lastError = err;
      this.unrecorded.push(...batch);
      this.scheduleRewrite();
      await this.flush(signal).catch(() => undefined);
      throw err;
    }
    this.onRecorded(batch.length);
    return result;
  }

  private write(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    const writing: Promise<void> = this.store.record(this.notification, batch).then(
      () => {
        this.writing.delete(writing);
        if (this.unrecorded.length === 0 && this.rewrite === undefined) this.rewrites = 0;
        this.onRecorded(batch.length);
      },
      (err: unknown) => {
        this.writing.delete(writing);
        this.lastError = err;
        this.unrecorded.push(...batch);
        this.scheduleRewrite();
      },
    );
    this.writing.add(writing);
  }

  private scheduleRewrite(): void {
    if (this.rewrite) return;
    const delay = Math.min(REWRITE_MAX_MS, REWRITE_BASE_MS * 2 ** this.rewrites);
    this.rewrites += 1;
    this.rewrite = setLongTimeout(() => {
      this.rewrite = undefined;
      this.buffer = this.unrecorded.concat(this.buffer);
      this.unrecorded = [];
      this.write();
      const waiters = this.rewriteWaiters;
      this.rewriteWaiters = [];
      for (const wake of waiters) wake();
    }, delay);
  }

  private nextRewrite(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      this.rewriteWaiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** Gives up on what is not recorded: its tokens leave the budget (they will be sent again). */
  private abandon(): void {
    this.rewrite?.clear();
    this.rewrite = undefined;
    const count = this.unrecorded.length + this.buffer.length;
    this.unrecorded = [];
    this.buffer = [];
    this.onRecorded(count);
  }
}
