import { backoffDelay } from '../../lib/backoff.js';
import type { StreamResult } from '../shared/http2-session.js';
import type { ConnectError } from '../shared/connection-errors.js';
import type { AttemptVerdict } from '../shared/batch-run.js';
import { refuseCredentials, retryAfterFailedStart, retryLater as retryAfterAttempt } from '../shared/verdict.js';
import type { AttemptReporter } from '../shared/verdict.js';
import type { TokenState } from './access-token.js';
import { classifyFcmResponse, reasonLabel } from './fcm-answers.js';
import type { FcmApp } from './fcm-app.js';

/** One token's progress through a batch. */
export interface FcmWorkItem {
  readonly index: number;
  readonly token: string;
  /** Counted requests (answered retryable, connect failures, lost requests). */
  attempts: number;
  /** Refused streams and other never-processed requests in a row. */
  unsent: number;
  /** A request for this token may have reached FCM unanswered. */
  lostOnce: boolean;
  /** The access token was renewed once for this token after a 401. */
  tokenRenewed: boolean;
  dueAt: number;
}

export type FcmAttemptReport =
  | { kind: 'token'; state: Exclude<TokenState, { kind: 'token' }> }
  | { kind: 'connect-failed'; error: ConnectError; retryAt: number }
  | { kind: 'stream'; result: StreamResult; accessToken: string };

export interface FcmReporter extends AttemptReporter {
  invalidToken(token: string, reason: string): void;
}

const MAX_UNSENT = 5;

/**
 * What becomes of a token after one request, following APNs' resend rules
 * (docs/providers-fcm.md): retryable answers and connect failures are counted attempts
 * with Retry-After or backoff; a lost request is resent once and then handed back as
 * `unconfirmed`; a 401 drops the access token and resends once with a fresh one, a
 * second 401 (or 403) closes the app's credential gate.
 */
export function judgeFcmAttempt(app: FcmApp, item: FcmWorkItem, report: FcmAttemptReport, reporter: FcmReporter, now: () => number, seconds: number): AttemptVerdict {
  const gate = app.gate;
  const unconfirmed = item.lostOnce ? { unconfirmed: true } : {};
  const retryLater = (reason: string, retryAfterMs?: number, status?: number, minDelayMs = 0): AttemptVerdict =>
    retryAfterAttempt(item, app.retry, reporter, reason, retryAfterMs, status, minDelayMs);
  const refuse = (reason: string, status?: number): AttemptVerdict => refuseCredentials(gate, app.cooldownMs, reason, status);

  if (report.kind === 'token') {
    const { state } = report;
    reporter.request('none', state.reason);
    if (state.kind === 'refused') return refuse(state.reason, state.status);
    return retryAfterFailedStart(item, app.retry, reporter, gate, state.reason, state.retryAt, now());
  }
  if (report.kind === 'connect-failed') {
    const reason = report.error.kind === 'untrusted-server' ? 'TlsUntrustedServer' : 'ConnectFailed';
    reporter.request('none', reason);
    return retryAfterFailedStart(item, app.retry, reporter, gate, reason, report.retryAt, now());
  }
  const result = report.result;
  switch (result.kind) {
    case 'unsent': {
      gate.probeInconclusive();
      reporter.request('none', 'NotSent');
      if (result.cause === 'stopping') return { kind: 'outcome', outcome: { type: 'retry', reason: 'ShuttingDown' } };
      item.unsent += 1;
      const delayMs = item.unsent === 1 ? 0 : backoffDelay(item.unsent - 1, app.retry.backoff);
      if (item.unsent >= MAX_UNSENT) return { kind: 'outcome', outcome: { type: 'retry', reason: 'Unsent', afterMs: delayMs, ...unconfirmed } };
      reporter.retry('unsent');
      return { kind: 'resend', delayMs };
    }
    case 'lost':
    case 'credentials': {
      gate.probeInconclusive();
      reporter.request('none', result.kind === 'lost' && result.cause === 'timeout' ? 'Timeout' : 'ConnectionLost');
      item.attempts += 1;
      const first = !item.lostOnce;
      item.lostOnce = true;
      if (first && item.attempts < app.retry.maxAttempts) {
        reporter.retry('lost');
        return { kind: 'resend', delayMs: 0 };
      }
      return { kind: 'outcome', outcome: { type: 'retry', reason: 'Unconfirmed', unconfirmed: true, afterMs: backoffDelay(item.attempts, app.retry.backoff) } };
    }
    case 'response':
      break;
  }

  const answer = classifyFcmResponse(result, now());
  reporter.request(String(result.status), reasonLabel(answer), seconds);
  switch (answer.type) {
    case 'delivered':
      gate.accept();
      return { kind: 'outcome', outcome: { type: 'delivered', messageId: answer.messageId } };
    case 'rejected':
      gate.accept();
      if (answer.invalidToken) reporter.invalidToken(item.token, answer.reason);
      return { kind: 'outcome', outcome: answer };
    case 'credentials':
      return refuse(answer.reason, answer.status);
    case 'unauthenticated':
      if (!item.tokenRenewed) {
        item.tokenRenewed = true;
        app.accessToken.invalidate(report.accessToken);
        gate.probeInconclusive();
        reporter.retry('Unauthenticated');
        return { kind: 'resend', delayMs: 0 };
      }
      return refuse('Unauthenticated', answer.status);
    case 'retry':
      gate.probeInconclusive();
      item.attempts += 1;
      return retryLater(answer.reason, answer.retryAfterMs, answer.status);
  }
}
