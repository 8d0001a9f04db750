/**
 * How APNs takes one token of a batch and sends it once: device tokens are normalized
 * and de-duplicated, each request carries the app's JWT and a stable apns-id, and the
 * answer is judged by attempt-verdict.ts. The batch loop is shared/batch-run.ts.
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http2';
import { normalizeToken } from '../../lib/apns-tokens.js';
import type { PushOutcome } from '../provider.js';
import type { AttemptSink, AttemptVerdict, TokenSender } from '../shared/batch-run.js';
import type { CredentialGate } from '../shared/credential-gate.js';
import type { Http2Session, StreamResult } from '../shared/http2-session.js';
import type { ConcurrencyLimiter } from '../shared/limiter.js';
import type { Lease } from '../shared/session-pool.js';
import type { ApnsApp } from './apns-app.js';
import { judgeAttempt } from './attempt-verdict.js';
import type { AttemptReport, Reporter } from './attempt-verdict.js';
import type { PreparedNotification } from './payload.js';

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

/** One request of a token, from taking a slot to its verdict. */
interface Attempt {
  readonly item: WorkItem;
  readonly sink: AttemptSink<WorkItem>;
  readonly started: number;
  jwt: string | undefined;
  session: Http2Session | undefined;
  judged: boolean;
}

/** One batch's APNs side: created per batch, it remembers the device tokens already taken. */
export class ApnsSender implements TokenSender<WorkItem> {
  readonly limiter: ConcurrencyLimiter;
  readonly gate: CredentialGate;
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly app: ApnsApp,
    private readonly notification: PreparedNotification,
    private readonly stopping: AbortSignal,
    private readonly reporter: Reporter,
    private readonly now: () => number,
  ) {
    this.limiter = app.limiter;
    this.gate = app.gate;
  }

  inFlight(delta: number): void {
    this.reporter.inFlight(delta);
  }

  open(token: string, index: number): WorkItem | PushOutcome {
    const normalized = normalizeToken(token);
    if (!normalized.ok) {
      this.reporter.invalidToken(token, 'BadDeviceToken');
      return { type: 'rejected', reason: 'BadDeviceToken', invalidToken: true, detail: normalized.detail };
    }
    const first = this.seen.get(normalized.token);
    if (first !== undefined) return { type: 'rejected', reason: 'DuplicateToken', invalidToken: false, detail: `same device token as tokens[${first}]; sent once` };
    this.seen.set(normalized.token, index);
    return { index, token, device: normalized.token, apnsId: flatUuid(), attempts: 0, unsentWithoutProgress: 0, answersAtLastUnsent: undefined, lostResends: 0, lostOnce: false, tokenRenewed: false, dueAt: 0 };
  }

  send(item: WorkItem, sink: AttemptSink<WorkItem>): void {
    const attempt: Attempt = { item, sink, started: this.now(), jwt: undefined, session: undefined, judged: false };
    const lease = this.app.pool.tryAcquire(this.stopping);
    if (lease) this.sendOn(lease, attempt);
    else {
      this.app.pool.acquire(this.stopping).then(
        (waited) => this.sendOn(waited, attempt),
        // Bugs only: acquire reports failures as values.
        (err: unknown) => this.answered({ kind: 'lost', cause: (err as Error).message }, attempt),
      );
    }
  }

  /**
   * Sends on the slot `lease` holds. The answer comes back through `answered`, one
   * method for every request of the batch: no promise or closure per request. Every
   * verdict is reached after `send` has returned, as the batch loop expects.
   */
  private sendOn(lease: Lease, attempt: Attempt): void {
    if (lease.kind === 'stopped') {
      process.nextTick(this.answered, { kind: 'unsent', cause: 'stopping' }, attempt);
      return;
    }
    if (lease.kind === 'connect-failed') {
      process.nextTick(() => this.judge(attempt, { kind: 'connect-failed', error: lease.error, retryAt: this.app.pool.connectRetryAt }));
      return;
    }
    try {
      attempt.jwt = this.app.token?.current();
      attempt.session = lease.session;
      lease.session.send(this.headers(attempt.item, attempt.jwt), this.notification.body, this.app.config.requestTimeoutMs, this.answered, attempt);
    } catch (err) {
      // Bugs only: send reports failures as values.
      process.nextTick(this.answered, { kind: 'lost', cause: (err as Error).message }, attempt);
    }
  }

  private readonly answered = (result: StreamResult, attempt: Attempt): void => {
    if (result.kind === 'response') this.app.pool.recordAnswer();
    this.judge(attempt, { kind: 'stream', result, jwt: attempt.jwt, session: attempt.session });
  };

  private judge(attempt: Attempt, report: AttemptReport): void {
    // Once per attempt, even should a bug make the session report twice.
    if (attempt.judged) return;
    attempt.judged = true;
    const { item, sink } = attempt;
    let verdict: AttemptVerdict | undefined;
    try {
      verdict = judgeAttempt(this.app, item, report, this.reporter, this.now, (this.now() - attempt.started) / 1000);
    } finally {
      sink.settle(item, verdict);
    }
  }

  private headers(item: WorkItem, jwt: string | undefined): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': `/3/device/${item.device}`,
      ...this.notification.headers,
      // No content-type or content-length: APNs needs neither (the stream's end ends the
      // body), and each header is copied and encoded again for every request.
      'apns-id': item.apnsId,
    };
    if (jwt !== undefined) headers.authorization = `bearer ${jwt}`;
    return headers;
  }
}

/**
 * A UUID as one flat string. randomUUID builds it by concatenation, a tree of about
 * 470 bytes; an apns-id lives as long as its request, long enough to be promoted to the
 * old generation, where the tree would wait for a full collection. Reading a character
 * flattens it, and the tree dies young.
 */
function flatUuid(): string {
  const id = randomUUID();
  id.charCodeAt(0);
  return id;
}
