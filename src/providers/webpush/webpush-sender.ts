/**
 * How Web Push takes one token of a batch and sends it once: the token's subscription
 * is opened, its endpoint checked and de-duplicated, each request is encrypted for its
 * subscription just before it is posted, and the push service's answer becomes the
 * token's verdict. The batch loop is shared/batch-run.ts.
 */
import { randomUUID } from 'node:crypto';
import type { PushOutcome, WebPushFields } from '../provider.js';
import type { AttemptSink, AttemptVerdict, TokenSender } from '../shared/batch-run.js';
import type { ConcurrencyLimiter } from '../shared/limiter.js';
import { retryLater } from '../shared/verdict.js';
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
 * One batch's Web Push side: created per batch, it remembers the endpoints already
 * taken. A VAPID refusal is reported for its token and does not stop the app (no gate).
 */
export class WebPushSender implements TokenSender<WorkItem> {
  readonly limiter: ConcurrencyLimiter;
  readonly gate = undefined;
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly app: WebPushApp,
    private readonly web: WebPushFields,
    private readonly message: PreparedMessage,
    private readonly reporter: WebPushReporter,
    private readonly now: () => number,
    /** Every request's promise, so close() can wait for those in flight. */
    private readonly track: (request: Promise<void>) => void,
  ) {
    this.limiter = app.limiter;
  }

  inFlight(delta: number): void {
    this.reporter.inFlight(delta);
  }

  open(token: string, index: number): WorkItem | PushOutcome {
    const refuse = (reason: string, invalidToken: boolean, detail: string): PushOutcome => {
      if (invalidToken) this.reporter.invalidSubscription(token, reason);
      return { type: 'rejected', reason, invalidToken, detail };
    };
    const stored = this.web.subscriptions.get(token);
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

  send(item: WorkItem, sink: AttemptSink<WorkItem>): void {
    this.track(this.attempt(item, sink));
  }

  private async attempt(item: WorkItem, sink: AttemptSink<WorkItem>): Promise<void> {
    const started = this.now();
    let answer: Answer;
    try {
      const body = encryptAes128gcm({ plaintext: this.message.plaintext, uaPublic: item.subscription.uaPublic, authSecret: item.subscription.authSecret });
      const headers = Object.assign({}, this.message.headers, { authorization: this.app.signer.authorization(item.origin) });
      const result = await this.app.transport.post(item.subscription.endpoint, headers, body, this.app.config.requestTimeoutMs);
      answer = judgeAnswer(result, this.now());
      this.reporter.request(result.kind === 'response' ? String(result.status) : 'none', reasonLabel(answer), result.kind === 'response' ? (this.now() - started) / 1000 : undefined);
    } catch {
      // Bugs only: encryption of a checked subscription and post() report failures as values.
      answer = { type: 'retry', reason: 'InternalError', unconfirmed: true };
      this.reporter.request('none', 'InternalError');
    }
    let verdict: AttemptVerdict | undefined;
    try {
      verdict = this.judge(item, answer);
    } finally {
      sink.settle(item, verdict);
    }
  }

  private judge(item: WorkItem, answer: Answer): AttemptVerdict {
    switch (answer.type) {
      case 'delivered':
        this.app.refusalsInARow = 0;
        return { kind: 'outcome', outcome: { type: 'delivered', messageId: answer.messageId ?? `local:${randomUUID()}` } };
      case 'rejected':
        if (answer.invalidToken) this.reporter.invalidSubscription(item.token, answer.reason, item.subscription.endpoint.href);
        return { kind: 'outcome', outcome: answer };
      case 'credentials':
        this.app.refusalsInARow += 1;
        this.app.lastRefusal = `${answer.status} from ${item.origin}`;
        // The push service may have judged an expired or malformed JWT: sign afresh for the next request.
        this.app.signer.forget(item.origin);
        return { kind: 'outcome', outcome: answer };
      case 'retry':
        break;
    }
    item.attempts += 1;
    if (answer.unconfirmed) item.lostOnce = true;
    return retryLater(item, this.app.retry, this.reporter, answer.reason, answer.retryAfterMs, answer.status);
  }
}

function reasonLabel(answer: Answer): string {
  return answer.type === 'delivered' ? 'Created' : answer.reason;
}
