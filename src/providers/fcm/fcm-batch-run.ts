import type { OutgoingHttpHeaders } from 'node:http2';
import { setLongTimeout } from '../../lib/long-timer.js';
import type { LongTimer } from '../../lib/long-timer.js';
import type { PushBatch, PushOutcome, PushResult } from '../provider.js';
import type { FcmApp } from './fcm-app.js';
import { isRegistrationToken } from './fcm-message.js';
import type { PreparedFcmMessage } from './fcm-message.js';
import { judgeFcmAttempt } from './fcm-verdict.js';
import type { FcmAttemptReport, FcmReporter, FcmWorkItem } from './fcm-verdict.js';

/**
 * Sends one batch for one app and yields a result per token as answers arrive. Tokens
 * are taken only while the app's limiter has a free slot and fewer than its bound are
 * between being taken and being consumed, so neither FCM nor a slow consumer is
 * overrun; tokens waiting for a retry hold no slot. The same scheme as APNs' BatchRun.
 */
export class FcmBatchRun {
  private nextIndex = 0;
  private readonly seen = new Map<string, number>();
  private readonly due: FcmWorkItem[] = [];
  private readonly delayed: FcmWorkItem[] = [];
  private readonly ready: PushResult[] = [];
  private inFlight = 0;
  private granted = 0;
  private cancelSlotWait: (() => void) | undefined;
  private dispatching = false;
  private heldByGate = false;
  private woken = false;
  private resolveWake: (() => void) | undefined;
  private timer: LongTimer | undefined;

  constructor(
    private readonly app: FcmApp,
    private readonly batch: PushBatch,
    private readonly message: PreparedFcmMessage,
    private readonly signal: AbortSignal,
    private readonly stopping: AbortSignal,
    private readonly reporter: FcmReporter,
    private readonly now: () => number,
  ) {}

  async *results(): AsyncGenerator<PushResult> {
    const wake = (): void => this.wake();
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
      this.returnUnusedSlots();
    }
  }

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
        this.finish(item, { type: 'credentials', reason: admission.reason, afterMs: admission.afterMs, ...(admission.status === undefined ? {} : { status: admission.status }) });
        continue;
      }
      if (admission.kind === 'wait' || !this.takeSlot()) {
        if (admission.kind === 'probe') this.app.gate.probeInconclusive();
        this.heldByGate = admission.kind === 'wait';
        this.due.unshift(item);
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

  /** Queues for the next released slot; true when one was granted at once. */
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

  private nextItem(): FcmWorkItem | 'skipped' | undefined {
    const retry = this.due.shift();
    if (retry) return retry;
    const now = this.now();
    const ripe = this.delayed.findIndex((item) => item.dueAt <= now);
    if (ripe >= 0) return this.delayed.splice(ripe, 1)[0];
    if (this.nextIndex >= this.batch.tokens.length) return undefined;
    const index = this.nextIndex++;
    const token = this.batch.tokens[index] as string;
    if (!isRegistrationToken(token)) {
      this.reporter.invalidToken(token, 'BadToken');
      this.ready.push({ token, index, outcome: { type: 'rejected', reason: 'BadToken', invalidToken: true, detail: 'not an FCM registration token' } });
      return 'skipped';
    }
    const first = this.seen.get(token);
    if (first !== undefined) {
      this.ready.push({ token, index, outcome: { type: 'rejected', reason: 'DuplicateToken', invalidToken: false, detail: `same registration token as tokens[${first}]; sent once` } });
      return 'skipped';
    }
    this.seen.set(token, index);
    return { index, token, attempts: 0, unsent: 0, lostOnce: false, tokenRenewed: false, dueAt: 0 };
  }

  private async attempt(item: FcmWorkItem): Promise<void> {
    const started = this.now();
    this.reporter.inFlight(+1);
    let report: FcmAttemptReport;
    try {
      // The access token before the stream: a slot is not held while a token is fetched.
      const token = await this.app.accessToken.current();
      if (token.kind !== 'token') {
        report = { kind: 'token', state: token };
      } else {
        const lease = await this.app.pool.acquire(this.stopping);
        if (lease.kind === 'stopped') {
          report = { kind: 'stream', result: { kind: 'unsent', cause: 'stopping' }, accessToken: token.value };
        } else if (lease.kind === 'connect-failed') {
          report = { kind: 'connect-failed', error: lease.error, retryAt: this.app.pool.connectRetryAt };
        } else {
          const body = this.message.bodyFor(item.token);
          const result = await lease.session.request(this.headers(token.value, body.length), body, this.app.config.requestTimeoutMs);
          if (result.kind === 'response') this.app.pool.recordAnswer();
          report = { kind: 'stream', result, accessToken: token.value };
        }
      }
    } catch (err) {
      // Bugs only: the token source, acquire and request report failures as values.
      report = { kind: 'stream', result: { kind: 'lost', cause: (err as Error).message }, accessToken: '' };
    }
    try {
      const verdict = judgeFcmAttempt(this.app, item, report, this.reporter, this.now, (this.now() - started) / 1000);
      if (verdict.kind === 'outcome') this.finish(item, verdict.outcome);
      else this.requeue(item, verdict.delayMs);
    } finally {
      this.reporter.inFlight(-1);
      this.inFlight -= 1;
      this.app.limiter.release();
      this.wake();
    }
  }

  private headers(accessToken: string, length: number): OutgoingHttpHeaders {
    return {
      ':method': 'POST',
      ':path': this.app.path,
      authorization: `Bearer ${accessToken}`,
      'content-type': 'application/json; charset=UTF-8',
      'content-length': length,
    };
  }

  private finish(item: FcmWorkItem, outcome: PushOutcome): void {
    this.ready.push({ token: item.token, index: item.index, outcome });
    this.wake();
  }

  private requeue(item: FcmWorkItem, delayMs: number): void {
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
