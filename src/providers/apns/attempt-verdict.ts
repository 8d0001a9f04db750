import { backoffDelay } from '../../lib/backoff.js';
import type { PushOutcome } from '../provider.js';
import type { ApnsApp } from './apns-app.js';
import type { ApnsSession, StreamOutcome } from './apns-session.js';
import type { ConnectError } from './connection-errors.js';
import type { WorkItem } from './batch-run.js';
import { classifyResponse, reasonLabel } from './reasons.js';
import { decideRetry } from './retry-policy.js';

/** What happened to one request. */
export type AttemptReport =
  | { kind: 'stream'; outcome: StreamOutcome; jwt: string | undefined; session?: ApnsSession }
  | { kind: 'connect-failed'; error: ConnectError; retryAt: number };

export type AttemptVerdict = { kind: 'done'; outcome: PushOutcome } | { kind: 'again'; delayMs: number };

/** Metrics and events of one batch, already bound to its app and notification. */
export interface Reporter {
  request(status: string, reason: string, seconds?: number): void;
  retry(reason: string): void;
  invalidToken(token: string, reason: string, timestamp?: number): void;
  inFlight(delta: number): void;
}

/**
 * Never-processed requests of one token, in a row and with no answer from the pool in
 * between, before the token is handed back: the server refuses everything.
 */
export const MAX_UNSENT_WITHOUT_PROGRESS = 5;

const unsentLabels: Record<string, string> = { 'refused-stream': 'RefusedStream', goaway: 'GoawayUnprocessed', 'not-sent': 'NotSent' };

/**
 * Decides what becomes of a token after one request: a final outcome, or another
 * request after `delayMs`. The resend rules (docs/apns.md):
 *
 * - never processed (refused stream, above GOAWAY's last stream id, not sent): resent
 *   on a live session, at once while the pool keeps getting answers (a GOAWAY mid-batch),
 *   with backoff when nothing was answered since this token's last refusal; never counts
 *   as an attempt, but five refusals in a row without progress hand the token back;
 * - answered 429/500/503 or connect failure: counted attempt, backoff or retry-after;
 * - lost (timeout, connection died after the request was sent — Apple may have
 *   processed it): counted attempt, resent once at once; a second loss hands the token
 *   back as `retry` with `unconfirmed: true`, and every later `retry` for a token that
 *   was once lost carries that flag too;
 * - ExpiredProviderToken: the JWT is renewed and the request resent once;
 * - any other 403 or a refused client certificate closes the app's credential gate.
 */
export function judgeAttempt(
  app: ApnsApp,
  item: WorkItem,
  report: AttemptReport,
  reporter: Reporter,
  now: () => number,
  seconds: number,
): AttemptVerdict {
  const gate = app.gate;
  const retryLater = (reason: string, retryAfterMs?: number, status?: number, minDelayMs = 0): AttemptVerdict => {
    const decision = decideRetry(item.attempts, app.retry, retryAfterMs);
    const delay = Math.max(decision.kind === 'again' ? decision.delayMs : decision.afterMs, minDelayMs);
    if (decision.kind === 'again' && delay <= app.retry.maxInlineWaitMs) {
      reporter.retry(reason);
      return { kind: 'again', delayMs: delay };
    }
    return { kind: 'done', outcome: { type: 'retry', reason, afterMs: delay, ...(status === undefined ? {} : { status }), ...(item.lostOnce ? { unconfirmed: true } : {}) } };
  };
  const refuse = (reason: string, status?: number): AttemptVerdict => {
    gate.refuse(reason, status);
    return { kind: 'done', outcome: { type: 'credentials', reason, afterMs: app.cooldownMs, ...(status === undefined ? {} : { status }) } };
  };

  if (report.kind === 'connect-failed') {
    const { error } = report;
    const reason = error.kind === 'untrusted-server' ? 'TlsUntrustedServer' : error.kind === 'client-certificate-refused' ? 'ClientCertificateRefused' : 'ConnectFailed';
    reporter.request('none', reason);
    if (error.kind === 'client-certificate-refused') return refuse(reason);
    gate.probeInconclusive();
    item.attempts += 1;
    return retryLater(reason, undefined, undefined, Math.max(0, report.retryAt - now()));
  }

  const outcome = report.outcome;
  switch (outcome.kind) {
    case 'unsent': {
      gate.probeInconclusive();
      reporter.request('none', unsentLabels[outcome.cause] ?? 'NotSent');
      if (outcome.cause === 'stopping') return { kind: 'done', outcome: { type: 'retry', reason: 'ShuttingDown' } };
      const answers = app.pool.answered;
      item.unsentWithoutProgress = item.answersAtLastUnsent === answers ? item.unsentWithoutProgress + 1 : 0;
      item.answersAtLastUnsent = answers;
      const delayMs = item.unsentWithoutProgress === 0 ? 0 : backoffDelay(item.unsentWithoutProgress, app.retry.backoff);
      if (item.unsentWithoutProgress >= MAX_UNSENT_WITHOUT_PROGRESS) {
        return { kind: 'done', outcome: { type: 'retry', reason: 'Unsent', afterMs: delayMs, ...(item.lostOnce ? { unconfirmed: true } : {}) } };
      }
      reporter.retry('unsent');
      return { kind: 'again', delayMs };
    }
    case 'lost': {
      gate.probeInconclusive();
      reporter.request('none', outcome.cause === 'timeout' ? 'Timeout' : 'ConnectionLost');
      item.attempts += 1;
      if (item.lostResends === 0 && item.attempts < app.retry.maxAttempts) {
        item.lostResends = 1;
        item.lostOnce = true;
        reporter.retry('lost');
        return { kind: 'again', delayMs: 0 };
      }
      item.lostOnce = true;
      return { kind: 'done', outcome: { type: 'retry', reason: 'Unconfirmed', unconfirmed: true, afterMs: backoffDelay(item.attempts, app.retry.backoff) } };
    }
    case 'credentials':
      reporter.request('none', 'ClientCertificateRefused');
      return refuse('ClientCertificateRefused');
    case 'response':
      break;
  }

  const verdict = classifyResponse(outcome, now());
  const label = verdict.type === 'delivered' ? 'Success' : verdict.type === 'expired-provider-token' ? 'ExpiredProviderToken' : reasonLabel(verdict.reason);
  reporter.request(String(outcome.status), label, seconds);
  switch (verdict.type) {
    case 'delivered':
      gate.accept();
      return { kind: 'done', outcome: { type: 'delivered', apnsId: verdict.apnsId ?? item.apnsId } };
    case 'rejected': {
      gate.accept();
      if (verdict.invalidToken) reporter.invalidToken(item.token, verdict.reason, verdict.timestamp);
      const { reason, status, invalidToken } = verdict;
      return { kind: 'done', outcome: { type: 'rejected', reason, status, invalidToken, ...(verdict.timestamp === undefined ? {} : { timestamp: verdict.timestamp }) } };
    }
    case 'credentials':
      return refuse(verdict.reason, verdict.status);
    case 'expired-provider-token':
      if (!item.tokenRenewed && report.jwt !== undefined && app.token?.renewAfterRejection(report.jwt)) {
        item.tokenRenewed = true;
        gate.probeInconclusive();
        reporter.retry('ExpiredProviderToken');
        return { kind: 'again', delayMs: 0 };
      }
      return refuse('ExpiredProviderToken', verdict.status);
    case 'retryable':
      gate.probeInconclusive();
      if (verdict.retireSession) report.session?.retire('shutdown');
      item.attempts += 1;
      return retryLater(verdict.reason, verdict.retryAfterMs, verdict.status);
  }
}
