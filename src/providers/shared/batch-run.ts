/**
 * The batch loop every provider runs: tokens in, one `PushResult` per token out, as
 * they arrive. A provider supplies a `TokenSender` (how one token is taken in and sent
 * once); the loop owns the pacing, the resend queues and the abort rules.
 */
import { onAbort } from '../../lib/abort-watch.js';
import { setLongTimeout } from '../../lib/long-timer.js';
import type { LongTimer } from '../../lib/long-timer.js';
import type { PushOutcome, PushResult } from '../provider.js';
import type { Admission, CredentialGate } from './credential-gate.js';
import type { ConcurrencyLimiter } from './limiter.js';

/** One token's place in the batch; each provider's work item adds its own progress. */
export interface BatchItem {
  readonly index: number;
  readonly token: string;
  /** Some request for this token may have reached the service unanswered: every later `retry` says `unconfirmed`. */
  lostOnce: boolean;
  dueAt: number;
}

/** The token's `PushOutcome` (it leaves the batch run), or a resend on this run after `delayMs`. */
export type AttemptVerdict = { kind: 'outcome'; outcome: PushOutcome } | { kind: 'resend'; delayMs: number };

/** Where a sender hands the verdict on its request. */
export interface AttemptSink<Item> {
  /**
   * Exactly once per `send`: frees the request's slot. `undefined` only when judging
   * the answer threw (a bug): the slot is freed and the token is not resent.
   */
  settle(item: Item, verdict: AttemptVerdict | undefined): void;
}

/** What a provider supplies for one batch. */
export interface TokenSender<Item extends BatchItem> {
  /** The app's in-flight bound, shared with its other batches. */
  readonly limiter: ConcurrencyLimiter;
  /** Absent when the provider does not stop an app whose credentials are refused. */
  readonly gate: CredentialGate | undefined;
  /** The provider's in-flight gauge for the app. */
  inFlight(delta: number): void;
  /** Called once per token, in batch order: its work item, or its final outcome without a request (unusable, duplicate). */
  open(token: string, index: number): Item | PushOutcome;
  /** Starts one request for `item` (its slot is held) and calls `sink.settle` when it has been judged. */
  send(item: Item, sink: AttemptSink<Item>): void;
}

const SEND: Admission = { kind: 'send' };

/**
 * Sends one batch for one app and yields a result per token as results arrive.
 * Tokens are taken from the batch only when the app's limiter has a free slot and the
 * consumer has pulled, so neither the server's stream limit nor the caller's pace is
 * overrun; tokens waiting for a retry hold no slot. On abort, tokens not sent (or
 * waiting for a resend) come back as `retry` `Aborted`, or `ShuttingDown` when the
 * provider stops; requests in flight are still reported.
 */
export class BatchRun<Item extends BatchItem> implements AttemptSink<Item>, AsyncIterableIterator<PushResult> {
  private nextIndex = 0;
  private readonly due: Item[] = [];
  private readonly delayed: Item[] = [];
  private readonly ready: PushResult[] = [];
  private inFlight = 0;
  /** Slots the limiter handed to this batch while it waited, not yet used. */
  private granted = 0;
  private cancelSlotWait: (() => void) | undefined;
  private dispatching = false;
  /** Held by the gate: waits for the limiter's next announcement (the probe answered). */
  private stopGateWatch: (() => void) | undefined;
  private timer: LongTimer | undefined;
  /** The consumer's pending `next()`, answered by the next change. */
  private pending: { resolve(result: IteratorResult<PushResult>): void; reject(err: unknown): void } | undefined;
  private stepping = false;
  /** The watches on capacity and on the signals, set once the batch first waits with tokens unsent. */
  private unwatch: Array<() => void> | undefined;
  private ended = false;
  /** What a step taken outside the consumer's call threw (a bug): the next `next()` rejects with it. */
  private failure: { err: unknown } | undefined;
  private onEnd: (() => void) | undefined;

  constructor(
    private readonly tokens: readonly string[],
    private readonly sender: TokenSender<Item>,
    private readonly signal: AbortSignal,
    private readonly stopping: AbortSignal,
    private readonly now: () => number,
  ) {}

  /**
   * The results as they arrive. A hand-written iterator rather than an async generator:
   * a one-token batch, the common notification, then costs no generator and no promise
   * between its steps. `onEnd`: called once the results end, however they end (the
   * provider's reload bookkeeping).
   */
  results(onEnd?: () => void): AsyncIterableIterator<PushResult> {
    this.onEnd = onEnd;
    return this;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<PushResult> {
    return this;
  }

  next(): Promise<IteratorResult<PushResult>> {
    const failure = this.failure;
    this.failure = undefined;
    if (failure) return Promise.reject(failure.err);
    if (this.ended) return Promise.resolve(DONE);
    if (this.pending) return Promise.reject(new Error('BatchRun.next() called while a result is pending'));
    let now: IteratorResult<PushResult> | undefined;
    try {
      now = this.step();
    } catch (err) {
      this.end();
      return Promise.reject(err);
    }
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
    });
  }

  /** The consumer stopped early (`break` in `for await`): the run ends, its requests in flight still settle. */
  return(): Promise<IteratorResult<PushResult>> {
    this.end();
    return Promise.resolve(DONE);
  }

  /**
   * Sends what is due and answers with the next result, or the end; undefined while
   * waiting. Then an answer, a granted slot or the timer wakes the batch; capacity and
   * the signals are watched only once tokens wait unsent, as only those need them.
   */
  private step(): IteratorResult<PushResult> | undefined {
    this.stepping = true;
    try {
      this.dispatch();
    } finally {
      this.stepping = false;
    }
    const result = this.ready.shift();
    if (result) return { value: result, done: false };
    if (this.finished()) {
      this.end();
      return DONE;
    }
    if (this.hasUnsent()) this.watch();
    this.armTimer();
    return undefined;
  }

  private watch(): void {
    if (this.unwatch) return;
    const wake = (): void => this.wake();
    // Slots come through waitForSlot; only a new capacity (sessions opened or lost) or, for
    // a batch the gate holds, the next announcement (a probe's answer) needs it to look again.
    this.unwatch = [this.sender.limiter.onResize(wake), onAbort(this.signal, wake), onAbort(this.stopping, wake)];
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    // return() while a next() waits (never from for-await): that next() ends too.
    const waiting = this.pending;
    this.pending = undefined;
    waiting?.resolve(DONE);
    for (const stop of this.unwatch ?? []) stop();
    this.unwatch = undefined;
    this.stopGateWatch?.();
    this.stopGateWatch = undefined;
    this.timer?.clear();
    this.cancelSlotWait?.();
    this.cancelSlotWait = undefined;
    this.returnUnusedSlots();
    this.onEnd?.();
  }

  settle(item: Item, verdict: AttemptVerdict | undefined): void {
    try {
      if (verdict?.kind === 'outcome') this.finish(item, verdict.outcome);
      else if (verdict) this.requeue(item, verdict.delayMs);
    } finally {
      this.sender.inFlight(-1);
      this.inFlight -= 1;
      this.sender.limiter.release();
      this.wake();
    }
  }

  private dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      this.dispatchDue();
    } finally {
      this.dispatching = false;
      // Slots granted but not needed now (nothing due, consumer behind, aborted) go to the next waiting batch.
      this.returnUnusedSlots();
    }
  }

  /**
   * Takes tokens while fewer than the app's in-flight bound are between being taken and
   * being consumed (in flight or waiting in `ready`): a consumer slower than the service
   * holds the batch back instead of filling a buffer.
   */
  private dispatchDue(): void {
    const { limiter, gate } = this.sender;
    // Before the window's bound: a full window must not hold unsent tokens back from an abort.
    if (this.signal.aborted || this.stopping.aborted) {
      this.abandonUnsent(this.stopping.aborted ? 'ShuttingDown' : 'Aborted');
      return;
    }
    while (this.ready.length + this.inFlight < Math.max(1, limiter.limit)) {
      const item = this.nextItem();
      if (item === 'skipped') continue;
      if (!item) return;
      const admission = gate ? gate.admit() : SEND;
      if (admission.kind === 'refused') {
        const { reason, afterMs } = admission;
        this.finish(item, { type: 'credentials', reason, afterMs, ...(admission.status === undefined ? {} : { status: admission.status }) });
        continue;
      }
      if (admission.kind === 'wait' || !this.takeSlot()) {
        if (admission.kind === 'probe') gate?.probeInconclusive();
        if (admission.kind === 'wait') {
          this.stopGateWatch ??= limiter.onNextChange(() => {
            this.stopGateWatch = undefined;
            this.wake();
          });
        }
        this.due.unshift(item);
        // A slot freed in between (capacity rose) is granted at once: take the item again.
        if (admission.kind !== 'wait' && this.waitForSlot()) continue;
        return;
      }
      this.inFlight += 1;
      this.sender.inFlight(+1);
      try {
        this.sender.send(item, this);
      } catch (err) {
        // A bug in the sender: its slot is freed, and the batch fails with the error.
        this.settle(item, undefined);
        throw err;
      }
    }
  }

  private takeSlot(): boolean {
    if (this.granted > 0) {
      this.granted -= 1;
      return true;
    }
    return this.sender.limiter.tryAcquire();
  }

  /**
   * Queues for the next released slot. It is granted to this batch alone, which sends
   * at once (even while its consumer has not pulled), so the window stays full.
   * True when a slot was granted at once.
   */
  private waitForSlot(): boolean {
    if (this.cancelSlotWait) return false;
    let grantedNow = false;
    const cancel = this.sender.limiter.whenFree(() => {
      grantedNow = true;
      this.cancelSlotWait = undefined;
      this.granted += 1;
      this.dispatchGranted();
    });
    if (!grantedNow) this.cancelSlotWait = cancel;
    return grantedNow;
  }

  /**
   * Sends on a slot granted by another batch's release, outside any step: as a step, so
   * what its sends settle at once is answered after it, and what it throws (a bug) goes to
   * this batch's consumer, not to the batch that released the slot.
   */
  private dispatchGranted(): void {
    const outer = this.stepping;
    this.stepping = true;
    let failed: { err: unknown } | undefined;
    try {
      this.dispatch();
    } catch (err) {
      failed = { err };
    } finally {
      this.stepping = outer;
    }
    if (failed) this.fail(failed.err);
    else this.wake();
  }

  private returnUnusedSlots(): void {
    if (this.granted === 0) return;
    this.cancelSlotWait?.();
    this.cancelSlotWait = undefined;
    while (this.granted > 0) {
      this.granted -= 1;
      this.sender.limiter.release();
    }
  }

  private nextItem(): Item | 'skipped' | undefined {
    const retry = this.due.shift();
    if (retry) return retry;
    if (this.delayed.length > 0) {
      const now = this.now();
      const ripe = this.delayed.findIndex((item) => item.dueAt <= now);
      if (ripe >= 0) return this.delayed.splice(ripe, 1)[0];
    }
    if (this.nextIndex >= this.tokens.length) return undefined;
    const index = this.nextIndex++;
    const token = this.tokens[index] as string;
    const opened = this.sender.open(token, index);
    if (isOutcome(opened)) {
      this.ready.push({ token, index, outcome: opened });
      return 'skipped';
    }
    return opened;
  }

  private finish(item: Item, outcome: PushOutcome): void {
    this.ready.push({ token: item.token, index: item.index, outcome });
    this.wake();
  }

  private requeue(item: Item, delayMs: number): void {
    if (delayMs <= 0) {
      this.due.push(item);
    } else {
      item.dueAt = this.now() + delayMs;
      this.delayed.push(item);
    }
  }

  /** Tokens never sent (or waiting for a retry) when the batch is aborted: handed back, never lost. */
  private abandonUnsent(reason: string): void {
    const now = this.now();
    for (const item of this.due.splice(0)) this.finish(item, { type: 'retry', reason, ...(item.lostOnce ? { unconfirmed: true } : {}) });
    for (const item of this.delayed.splice(0)) this.finish(item, { type: 'retry', reason, afterMs: Math.max(0, item.dueAt - now), ...(item.lostOnce ? { unconfirmed: true } : {}) });
    while (this.nextIndex < this.tokens.length) {
      const index = this.nextIndex++;
      this.ready.push({ token: this.tokens[index] as string, index, outcome: { type: 'retry', reason } });
    }
  }

  private finished(): boolean {
    return this.inFlight === 0 && this.ready.length === 0 && !this.hasUnsent();
  }

  /**
   * Something changed: a pending `next()` gets its answer if there is one now. Called from
   * an answer's callback or a timer, so what the step throws (a bug) goes to the
   * consumer's `next()`, never up into the HTTP/2 session or the timer.
   */
  private wake(): void {
    const waiting = this.pending;
    if (!waiting || this.stepping) return;
    let result: IteratorResult<PushResult> | undefined;
    try {
      result = this.step();
    } catch (err) {
      this.fail(err);
      return;
    }
    if (!result) return;
    this.pending = undefined;
    waiting.resolve(result);
  }

  /** A step taken outside the consumer's call threw: the run ends, and the consumer learns it from `next()`. */
  private fail(err: unknown): void {
    const waiting = this.pending;
    this.pending = undefined;
    if (!waiting) this.failure ??= { err };
    this.end();
    waiting?.reject(err);
  }

  private hasUnsent(): boolean {
    return this.due.length > 0 || this.delayed.length > 0 || this.nextIndex < this.tokens.length;
  }

  private armTimer(): void {
    this.timer?.clear();
    this.timer = undefined;
    if (this.delayed.length === 0) return;
    const earliest = this.delayed.reduce((min, item) => Math.min(min, item.dueAt), Infinity);
    this.timer = setLongTimeout(() => this.wake(), earliest - this.now());
  }
}

const DONE: IteratorResult<PushResult> = { value: undefined, done: true };

/** Work items carry no `type`; every `PushOutcome` does. */
function isOutcome<Item extends BatchItem>(opened: Item | PushOutcome): opened is PushOutcome {
  return (opened as { type?: unknown }).type !== undefined;
}
