/**
 * How FCM takes one token of a batch and sends it once: registration tokens are checked
 * and de-duplicated, each request carries the app's access token and the message made
 * for that token, and the answer is judged by fcm-verdict.ts. The batch loop is
 * shared/batch-run.ts.
 */
import type { OutgoingHttpHeaders } from 'node:http2';
import type { PushOutcome } from '../provider.js';
import type { AttemptSink, AttemptVerdict, TokenSender } from '../shared/batch-run.js';
import type { CredentialGate } from '../shared/credential-gate.js';
import type { ConcurrencyLimiter } from '../shared/limiter.js';
import type { FcmApp } from './fcm-app.js';
import { isRegistrationToken } from './fcm-message.js';
import type { PreparedFcmMessage } from './fcm-message.js';
import { judgeFcmAttempt } from './fcm-verdict.js';
import type { FcmAttemptReport, FcmReporter, FcmWorkItem } from './fcm-verdict.js';

/** One batch's FCM side: created per batch, it remembers the registration tokens already taken. */
export class FcmSender implements TokenSender<FcmWorkItem> {
  readonly limiter: ConcurrencyLimiter;
  readonly gate: CredentialGate;
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly app: FcmApp,
    private readonly message: PreparedFcmMessage,
    private readonly stopping: AbortSignal,
    private readonly reporter: FcmReporter,
    private readonly now: () => number,
  ) {
    this.limiter = app.limiter;
    this.gate = app.gate;
  }

  inFlight(delta: number): void {
    this.reporter.inFlight(delta);
  }

  open(token: string, index: number): FcmWorkItem | PushOutcome {
    if (!isRegistrationToken(token)) {
      this.reporter.invalidToken(token, 'BadToken');
      return { type: 'rejected', reason: 'BadToken', invalidToken: true, detail: 'not an FCM registration token' };
    }
    const first = this.seen.get(token);
    if (first !== undefined) return { type: 'rejected', reason: 'DuplicateToken', invalidToken: false, detail: `same registration token as tokens[${first}]; sent once` };
    this.seen.set(token, index);
    return { index, token, attempts: 0, unsent: 0, lostOnce: false, tokenRenewed: false, dueAt: 0 };
  }

  send(item: FcmWorkItem, sink: AttemptSink<FcmWorkItem>): void {
    void this.attempt(item, sink);
  }

  private async attempt(item: FcmWorkItem, sink: AttemptSink<FcmWorkItem>): Promise<void> {
    const started = this.now();
    let report: FcmAttemptReport;
    try {
      // The access token before the stream: a slot is not held while a token is fetched.
      const token = await this.app.accessToken.current();
      if (token.kind !== 'token') {
        report = { kind: 'token', state: token };
      } else {
        const lease = this.app.pool.tryAcquire(this.stopping) ?? (await this.app.pool.acquire(this.stopping));
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
    let verdict: AttemptVerdict | undefined;
    try {
      verdict = judgeFcmAttempt(this.app, item, report, this.reporter, this.now, (this.now() - started) / 1000);
    } finally {
      sink.settle(item, verdict);
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
}
