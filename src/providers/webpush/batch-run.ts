import { randomUUID } from 'node:crypto';
import { setLongTimeout } from '../../lib/long-timer.js';
import type { LongTimer } from '../../lib/long-timer.js';
import type { PushBatch, PushOutcome, PushResult, WebPushFields } from '../provider.js';
import { decideRetry } from '../shared/retry-policy.js';
import { encryptAes128gcm } from './aes128gcm.js';
import { judgeAnswer } from './answer.js';
import type { Answer } from './answer.js';
import { checkEndpointUrl } from './endpoint-guard.js';
import type { PreparedMessage } from './message.js';
import { openSubscription } from './subscription.js';
import type { OpenedSubscription } from './subscription.js';
import type { WebPushApp, WebPushReporter } from './webpush-app.js';

interface WorkItem {
  readonly index: number;
  readonly token: string;
  readonly subscription: OpenedSubscription;
  readonly origin: string;
  /** Requests answered retryable or lost: they count against maxAttempts. */
  attempts: number;
  /** A request for this token may have reached the push service unanswered: later `retry` outcomes say `unconfirmed`. */
  lostOnce: boolean;
  dueAt: number;
}

/**
 * Sends one batch to browsers' push services and yields a result per token as they
 * arrive. Tokens are taken only while the app's limiter has a slot and fewer than its
 * bound are between being taken and being consumed, so a slow consumer holds the batch
 * back; tokens waiting for a retry hold no slot. Each request is encrypted for its
 * subscription just before it is sent.
 */
export class WebBatchRun {
  private nextIndex = 0;
  private readonly seen = new Map<string, number>();
  private readonly due: WorkItem[] = [];
  private readonly delayed: WorkItem[] = [];
  private readonly ready: PushResult[] = [];
  private inFlight = 0;
  private granted = 0;
  private cancelSlotWait: (() => void) | undefined;
  private dispatching = false;
  private woken = false;
  private resolveWake: (() => void) | undefined;
  private timer: LongTimer | undefined;

  constructor(
    private readonly app: WebPushApp,
    private readonly batch: PushBatch & { web: WebPushFields },
    private readonly message: PreparedMessage,
    private readonly signal: AbortSignal,
    private readonly stopping: AbortSignal,
    private readonly reporter: WebPushReporter,
    private readonly now: () => number,
    /** Every request's promise, so close() can wait for those in flight. */
    private readonly track: (request: Promise<void>) => void,
  ) {}

  async *results(): AsyncGenerator<PushResult> {
    const wake = (): void => this.wake();
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
      // A slot granted but not usable now (window full, nothing due, aborted) goes to the next waiting batch.
      this.returnUnusedSlots();
    }
  }

  private dispatchDue(): void {
    while (this.ready.length + this.inFlight < this.app.config.maxInFlight) {
      if (this.signal.aborted || this.stopping.aborted) {
        this.abandonUnsent(this.stopping.aborted ? 'ShuttingDown' : 'Aborted');
        return;
      }
      const item = this.nextItem();
      if (item === 'skipped') continue;
      if (!item) return;
      if (!this.takeSlot()) {
        this.due.unshift(item);
        // A slot freed in between is granted at once: take the item again.
        if (this.waitForSlot()) continue;
        return;
      }
      this.inFlight += 1;
      this.track(this.attempt(item));
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
   * Queues for the next slot another batch of the app releases; it is granted to this
   * batch alone, which sends at once, so the app's window stays full. True when granted at once.
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
    const refuse = (reason: string, invalidToken: boolean, detail: string): 'skipped' => {
      if (invalidToken) this.reporter.invalidSubscription(token, reason);
      this.ready.push({ token, index, outcome: { type: 'rejected', reason, invalidToken, detail } });
      return 'skipped';
    };
    const stored = this.batch.web.subscriptions.get(token);
    if (stored === undefined) return refuse('UnknownSubscription', false, 'no subscription given for this token in web.subscriptions');
    const opened = openSubscription(stored);
    if (!opened.ok) return refuse('BadSubscription', true, `${opened.path || 'subscription'}: ${opened.message}`);
    const { subscription } = opened;
    const endpoint = checkEndpointUrl(subscription.endpoint, this.app.config.allowPrivateEndpoints);
    if (!endpoint.ok) return refuse('ForbiddenEndpoint', true, endpoint.detail);
    const first = this.seen.get(subscription.endpoint.href);
    if (first !== undefined) return refuse('DuplicateSubscription', false, `same endpoint as tokens[${first}]; sent once`);
    this.seen.set(subscription.endpoint.href, index);
    return { index, token, subscription, origin: subscription.endpoint.origin, attempts: 0, lostOnce: false, dueAt: 0 };
  }

  private async attempt(item: WorkItem): Promise<void> {
    const started = this.now();
    this.reporter.inFlight(+1);
    let answer: Answer;
    try {
      const body = encryptAes128gcm({ plaintext: this.message.plaintext, uaPublic: item.subscription.uaPublic, authSecret: item.subscription.authSecret });
      const headers = { ...this.message.headers, authorization: this.app.signer.authorization(item.origin) };
      const result = await this.app.transport.post(item.subscription.endpoint, headers, body, this.app.config.requestTimeoutMs);
      answer = judgeAnswer(result, this.now());
      this.reporter.request(result.kind === 'response' ? String(result.status) : 'none', reasonLabel(answer), result.kind === 'response' ? (this.now() - started) / 1000 : undefined);
    } catch {
      // Bugs only: encryption of a checked subscription and post() report failures as values.
      answer = { type: 'retry', reason: 'InternalError', unconfirmed: true };
      this.reporter.request('none', 'InternalError');
    }
    try {
      this.judge(item, answer);
    } finally {
      this.reporter.inFlight(-1);
      this.inFlight -= 1;
      this.app.limiter.release();
      this.wake();
    }
  }

  private judge(item: WorkItem, answer: Answer): void {
    switch (answer.type) {
      case 'delivered':
        this.app.refusalsInARow = 0;
        return this.finish(item, { type: 'delivered', messageId: answer.messageId ?? `local:${randomUUID()}` });
      case 'rejected':
        if (answer.invalidToken) this.reporter.invalidSubscription(item.token, answer.reason, item.subscription.endpoint.href);
        return this.finish(item, answer);
      case 'credentials':
        this.app.refusalsInARow += 1;
        this.app.lastRefusal = `${answer.status} from ${item.origin}`;
        // The push service may have judged an expired or malformed JWT: sign afresh for the next request.
        this.app.signer.forget(item.origin);
        return this.finish(item, answer);
      case 'retry':
        break;
    }
    item.attempts += 1;
    if (answer.unconfirmed) item.lostOnce = true;
    const decision = decideRetry(item.attempts, this.app.retry, answer.retryAfterMs);
    const unconfirmed = item.lostOnce ? { unconfirmed: true } : {};
    if (decision.kind === 'again') {
      this.reporter.retry(answer.reason);
      item.dueAt = this.now() + decision.delayMs;
      this.delayed.push(item);
      return;
    }
    this.finish(item, { type: 'retry', reason: answer.reason, afterMs: decision.afterMs, ...(answer.status === undefined ? {} : { status: answer.status }), ...unconfirmed });
  }

  private finish(item: WorkItem, outcome: PushOutcome): void {
    this.ready.push({ token: item.token, index: item.index, outcome });
    this.wake();
  }

  /** Tokens never sent, or waiting for a retry, when the batch is aborted: handed back, never lost. */
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
      this.timer = setLongTimeout(() => this.wake(), Math.max(0, earliest - this.now()));
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

function reasonLabel(answer: Answer): string {
  return answer.type === 'delivered' ? 'Created' : answer.reason;
}
