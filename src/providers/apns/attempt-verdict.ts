import { backoffDelay } from '../../lib/backoff.js';
import type { ApnsApp } from './apns-app.js';
import type { Http2Session, StreamResult } from '../shared/http2-session.js';
import type { ConnectError } from '../shared/connection-errors.js';
import type { AttemptVerdict } from '../shared/batch-run.js';
import { refuseCredentials, retryAfterFailedStart, retryLater as retryAfterAttempt } from '../shared/verdict.js';
import type { AttemptReporter } from '../shared/verdict.js';
import type { WorkItem } from './apns-sender.js';
import { classifyResponse, reasonLabel } from './reasons.js';

/** What happened to one request. */
export type AttemptReport =
  | { kind: 'stream'; result: StreamResult; jwt: string | undefined; session: Http2Session | undefined }
  | { kind: 'connect-failed'; error: ConnectError; retryAt: number };

/** Metrics and events of one batch, already bound to its app and notification. */
export interface Reporter extends AttemptReporter {
  invalidToken(token: string, reason: string, timestamp?: number): void;
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
  const retryLater = (reason: string, retryAfterMs?: number, status?: number, minDelayMs = 0): AttemptVerdict =>
    retryAfterAttempt(item, app.retry, reporter, reason, retryAfterMs, status, minDelayMs);
  const refuse = (reason: string, status?: number): AttemptVerdict => refuseCredentials(gate, app.cooldownMs, reason, status);

  if (report.kind === 'connect-failed') {
    const { error } = report;
    const reason = error.kind === 'untrusted-server' ? 'TlsUntrustedServer' : error.kind === 'client-certificate-refused' ? 'ClientCertificateRefused' : 'ConnectFailed';
    reporter.request('none', reason);
    if (error.kind === 'client-certificate-refused') return refuse(reason);
    return retryAfterFailedStart(item, app.retry, reporter, gate, reason, report.retryAt, now());
  }

  const result = report.result;
  switch (result.kind) {
    case 'unsent': {
      gate.probeInconclusive();
      reporter.request('none', unsentLabels[result.cause] ?? 'NotSent');
      if (result.cause === 'stopping') return { kind: 'outcome', outcome: { type: 'retry', reason: 'ShuttingDown' } };
      const answers = app.pool.answered;
      item.unsentWithoutProgress = item.answersAtLastUnsent === answers ? item.unsentWithoutProgress + 1 : 0;
      item.answersAtLastUnsent = answers;
      const delayMs = item.unsentWithoutProgress === 0 ? 0 : backoffDelay(item.unsentWithoutProgress, app.retry.backoff);
      if (item.unsentWithoutProgress >= MAX_UNSENT_WITHOUT_PROGRESS) {
        return { kind: 'outcome', outcome: { type: 'retry', reason: 'Unsent', afterMs: delayMs, ...(item.lostOnce ? { unconfirmed: true } : {}) } };
      }
      reporter.retry('unsent');
      return { kind: 'resend', delayMs };
    }
    case 'lost': {
      gate.probeInconclusive();
      reporter.request('none', result.cause === 'timeout' ? 'Timeout' : 'ConnectionLost');
      item.attempts += 1;
      if (item.lostResends === 0 && item.attempts < app.retry.maxAttempts) {
        item.lostResends = 1;
        item.lostOnce = true;
        reporter.retry('lost');
        return { kind: 'resend', delayMs: 0 };
      }
      item.lostOnce = true;
      return { kind: 'outcome', outcome: { type: 'retry', reason: 'Unconfirmed', unconfirmed: true, afterMs: backoffDelay(item.attempts, app.retry.backoff) } };
    }
    case 'credentials':
      reporter.request('none', 'ClientCertificateRefused');
      return refuse('ClientCertificateRefused');
    case 'response':
      break;
  }

  const answer = classifyResponse(result, now());
  const label = answer.type === 'delivered' ? 'Success' : answer.type === 'expired-provider-token' ? 'ExpiredProviderToken' : reasonLabel(answer.reason);
  reporter.request(String(result.status), label, seconds);
  switch (answer.type) {
    case 'delivered':
      gate.accept();
      return { kind: 'outcome', outcome: { type: 'delivered', apnsId: answer.apnsId ?? item.apnsId } };
    case 'rejected': {
      gate.accept();
      if (answer.invalidToken) reporter.invalidToken(item.token, answer.reason, answer.timestamp);
      return { kind: 'outcome', outcome: answer };
    }
    case 'credentials':
      return refuse(answer.reason, answer.status);
    case 'expired-provider-token':
      if (!item.tokenRenewed && report.jwt !== undefined && app.token?.renewAfterRejection(report.jwt)) {
        item.tokenRenewed = true;
        gate.probeInconclusive();
        reporter.retry('ExpiredProviderToken');
        return { kind: 'resend', delayMs: 0 };
      }
      return refuse('ExpiredProviderToken', answer.status);
    case 'retry':
      gate.probeInconclusive();
      if (answer.retireSession) report.session?.retire('shutdown');
      item.attempts += 1;
      return retryLater(answer.reason, answer.retryAfterMs, answer.status);
  }
}
