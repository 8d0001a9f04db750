import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http2';
import { setLongTimeout } from '../../lib/long-timer.js';
import type { LongTimer } from '../../lib/long-timer.js';
import type { PushBatch, PushOutcome, PushResult } from '../provider.js';
import type { ApnsApp } from './apns-app.js';
import { judgeAttempt } from './attempt-verdict.js';
import type { AttemptReport, Reporter } from './attempt-verdict.js';
import type { PreparedNotification } from './payload.js';
import { normalizeToken } from '../../lib/apns-tokens.js';

/** One device token's progress through the batch. */
export interface WorkItem {
  readonly index: number;
  readonly token: string;
  readonly device: string;
  /** Kept across resends so Apple's logs and ours name the same notification. */
  readonly apnsId: string;
  /** Requests that count against maxAttempts: answered retryable, connect failures, lost requests. */
  attempts: number;
  /**
   * Requests that certainly never reached Apple (refused stream, above GOAWAY's last id)
   * in a row without the pool answering anything in between: a server refusing everything.
   */
  unsentWithoutProgress: number;
  /** The pool's answer count at this token's last unsent request. */
  answersAtLastUnsent: number | undefined;
  /** Resends of requests that may have reached Apple: at most one. */
  lostResends: number;
  /** Some request for this token may have reached Apple unanswered: later `retry` outcomes say `unconfirmed`. */
  lostOnce: boolean;
  tokenRenewed: boolean;
  dueAt: number;
}

/**
 * Sends one batch for one app and yields a result per token as results arrive.
 * Tokens are taken from the batch only when the app's limiter has a free slot and the
 * consumer has pulled, so neither the server's stream limit nor the caller's pace is
 * overrun; tokens waiting for a retry hold no slot.
 */
export class BatchRun {
  private nextIndex = 0;
  private readonly seen = new Map<string, number>();
  private readonly due: WorkItem[] = [];
  private readonly delayed: WorkItem[] = [];
  private readonly ready: PushResult[] = [];
  private inFlight = 0;
  /** Slots the limiter handed to this batch while it waited, not yet used. */
  private granted = 0;
  private cancelSlotWait: (() => void) | undefined;
  private dispatching = false;
  /** The last dispatch stopped because a credentials probe is in flight. */
  private heldByGate = false;
  private woken = false;
  private resolveWake: (() => void) | undefined;
  private timer: LongTimer | undefined;

  constructor(
    private readonly app: ApnsApp,
    private readonly batch: PushBatch,
    private readonly notification: PreparedNotification,
    private readonly signal: AbortSignal,
    private readonly stopping: AbortSignal,
    private readonly reporter: Reporter,
    private readonly now: () => number,
  ) {}

  async *results(): AsyncGenerator<PushResult> {
    const wake = (): void => this.wake();
    // The limiter announces every freed stream to every batch of the app. Slots come through
    // waitForSlot; only a new capacity (sessions opened or lost) or a credentials probe
    // ending (for a batch the gate holds) needs this batch to look again.
    const unsubscribe = this.app.limiter.onChange((resized) => {
      if (resized || this.heldByGate) wake();
    });
    this.signal.addEventListener('abort', wake);
    this.stopping.addEventListener('abort', wake);
    try {
      for (;;) {
        this.dispatch();
        const result = this.ready.shift();
        if (result) {
          yield result;
          continue;
        }
        if (this.finished()) return;
        await this.nextChange();
      }
    } finally {
      unsubscribe();
      this.signal.removeEventListener('abort', wake);
      this.stopping.removeEventListener('abort', wake);
      this.timer?.clear();
      this.cancelSlotWait?.();
      this.cancelSlotWait = undefined;
      this.returnUnusedSlots();
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
   * being consumed (in flight or waiting in `ready`): a consumer slower than Apple holds
   * the batch back instead of filling a buffer.
   */
  private dispatchDue(): void {
    this.heldByGate = false;
    while (this.ready.length + this.inFlight < Math.max(1, this.app.limiter.limit)) {
      if (this.signal.aborted || this.stopping.aborted) {
        this.abandonUnsent(this.stopping.aborted ? 'ShuttingDown' : 'Aborted');
        return;
      }
      const item = this.nextItem();
      if (item === 'skipped') continue;
      if (!item) return;
      const admission = this.app.gate.admit();
      if (admission.kind === 'refused') {
        const { reason, afterMs } = admission;
        this.finish(item, { type: 'credentials', reason, afterMs, ...(admission.status === undefined ? {} : { status: admission.status }) });
        continue;
      }
      if (admission.kind === 'wait' || !this.takeSlot()) {
        if (admission.kind === 'probe') this.app.gate.probeInconclusive();
        this.heldByGate = admission.kind === 'wait';
        this.due.unshift(item);
        // A slot freed in between (capacity rose) is granted at once: take the item again.
        if (admission.kind !== 'wait' && this.waitForSlot()) continue;
        return;
      }
      this.inFlight += 1;
      void this.attempt(item);
    }
  }

  private takeSlot(): boolean {
    if (this.granted > 0) {
      this.granted -= 1;
      return true;
    }
    return this.app.limiter.tryAcquire();
  }

  /**
   * Queues for the next released slot. It is granted to this batch alone, which sends
   * at once (even while its consumer has not pulled), so the window stays full.
   * True when a slot was granted at once.
   */
  private waitForSlot(): boolean {
    if (this.cancelSlotWait) return false;
    let grantedNow = false;
    const cancel = this.app.limiter.whenFree(() => {
      grantedNow = true;
      this.cancelSlotWait = undefined;
      this.granted += 1;
      this.dispatch();
      this.wake();
    });
    if (!grantedNow) this.cancelSlotWait = cancel;
    return grantedNow;
  }

  private returnUnusedSlots(): void {
    if (this.granted === 0) return;
    this.cancelSlotWait?.();
    this.cancelSlotWait = undefined;
    while (this.granted > 0) {
      this.granted -= 1;
      this.app.limiter.release();
    }
  }

  private nextItem(): WorkItem | 'skipped' | undefined {
    const retry = this.due.shift();
    if (retry) return retry;
    const now = this.now();
    const ripe = this.delayed.findIndex((item) => item.dueAt <= now);
    if (ripe >= 0) return this.delayed.splice(ripe, 1)[0];
    if (this.nextIndex >= this.batch.tokens.length) return undefined;
    const index = this.nextIndex++;
    const token = this.batch.tokens[index] as string;
    const normalized = normalizeToken(token);
    if (!normalized.ok) {
      this.reporter.invalidToken(token, 'BadDeviceToken');
      this.ready.push({ token, index, outcome: { type: 'rejected', reason: 'BadDeviceToken', invalidToken: true, detail: normalized.detail } });
      return 'skipped';
    }
    const first = this.seen.get(normalized.token);
    if (first !== undefined) {
      const detail = `same device token as tokens[${first}]; sent once`;
      this.ready.push({ token, index, outcome: { type: 'rejected', reason: 'DuplicateToken', invalidToken: false, detail } });
      return 'skipped';
    }
    this.seen.set(normalized.token, index);
    return { index, token, device: normalized.token, apnsId: randomUUID(), attempts: 0, unsentWithoutProgress: 0, answersAtLastUnsent: undefined, lostResends: 0, lostOnce: false, tokenRenewed: false, dueAt: 0 };
  }

  private async attempt(item: WorkItem): Promise<void> {
    const started = this.now();
    this.reporter.inFlight(+1);
    let report: AttemptReport;
    try {
      const lease = await this.app.pool.acquire(this.stopping);
      if (lease.kind === 'stopped') {
        report = { kind: 'stream', result: { kind: 'unsent', cause: 'stopping' }, jwt: undefined };
      } else if (lease.kind === 'connect-failed') {
        report = { kind: 'connect-failed', error: lease.error, retryAt: this.app.pool.connectRetryAt };
      } else {
        const jwt = this.app.token?.current();
        const result = await lease.session.request(this.headers(item, jwt), this.notification.body, this.app.config.requestTimeoutMs);
        if (result.kind === 'response') this.app.pool.recordAnswer();
        report = { kind: 'stream', result, jwt, session: lease.session };
      }
    } catch (err) {
      // Bugs only: acquire and request report failures as values.
      report = { kind: 'stream', result: { kind: 'lost', cause: (err as Error).message }, jwt: undefined };
    }
    try {
      const verdict = judgeAttempt(this.app, item, report, this.reporter, this.now, (this.now() - started) / 1000);
      if (verdict.kind === 'outcome') this.finish(item, verdict.outcome);
      else this.requeue(item, verdict.delayMs);
    } finally {
      this.reporter.inFlight(-1);
      this.inFlight -= 1;
      this.app.limiter.release();
      this.wake();
    }
  }

  private headers(item: WorkItem, jwt: string | undefined): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': `/3/device/${item.device}`,
      ...this.notification.headers,
      'apns-id': item.apnsId,
      'content-type': 'application/json',
      'content-length': this.notification.body.length,
    };
    if (jwt !== undefined) headers.authorization = `bearer ${jwt}`;
    return headers;
  }

  private finish(item: WorkItem, outcome: PushOutcome): void {
    this.ready.push({ token: item.token, index: item.index, outcome });
    this.wake();
  }

  private requeue(item: WorkItem, delayMs: number): void {
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
    for (const item of this.due.splice(0)) this.finish(item, { type: 'retry', reason });
    for (const item of this.delayed.splice(0)) this.finish(item, { type: 'retry', reason, afterMs: Math.max(0, item.dueAt - now) });
    while (this.nextIndex < this.batch.tokens.length) {
      const index = this.nextIndex++;
      this.ready.push({ token: this.batch.tokens[index] as string, index, outcome: { type: 'retry', reason } });
    }
  }

  private finished(): boolean {
    return this.inFlight === 0 && this.due.length === 0 && this.delayed.length === 0 && this.nextIndex >= this.batch.tokens.length && this.ready.length === 0;
  }

  private wake(): void {
    this.woken = true;
    const resolve = this.resolveWake;
    this.resolveWake = undefined;
    resolve?.();
  }

  private nextChange(): Promise<void> {
    this.timer?.clear();
    if (this.delayed.length > 0) {
      const earliest = this.delayed.reduce((min, item) => Math.min(min, item.dueAt), Infinity);
      this.timer = setLongTimeout(() => this.wake(), earliest - this.now());
    }
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.resolveWake = () => {
        this.woken = false;
        resolve();
      };
    });
  }
}
