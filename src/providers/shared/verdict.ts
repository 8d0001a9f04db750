/**
 * The verdicts every provider's judging shares: a retryable answer (resent inside the
 * batch or handed back) and a credentials refusal (closes the app's gate).
 */
import type { BatchItem, AttemptVerdict } from './batch-run.js';
import type { CredentialGate } from './credential-gate.js';
import { decideRetry } from './retry-policy.js';
import type { RetryPolicy } from './retry-policy.js';

/** Metrics of one batch's requests, already bound to its app; each provider adds its token events. */
export interface AttemptReporter {
  request(status: string, reason: string, seconds?: number): void;
  retry(reason: string): void;
  inFlight(delta: number): void;
}

/**
 * After a counted attempt (its `attempts` already raised): resent after the policy's
 * delay, never sooner than `minDelayMs`, when that wait fits inside the batch; otherwise
 * handed back as `retry` with `afterMs`.
 */
export function retryLater(
  item: BatchItem & { readonly attempts: number },
  policy: RetryPolicy,
  reporter: AttemptReporter,
  reason: string,
  retryAfterMs?: number,
  status?: number,
  minDelayMs = 0,
): AttemptVerdict {
  const decision = decideRetry(item.attempts, policy, retryAfterMs);
  const delay = Math.max(decision.kind === 'again' ? decision.delayMs : decision.afterMs, minDelayMs);
  if (decision.kind === 'again' && delay <= policy.maxInlineWaitMs) {
    reporter.retry(reason);
    return { kind: 'resend', delayMs: delay };
  }
  return { kind: 'outcome', outcome: { type: 'retry', reason, afterMs: delay, ...(status === undefined ? {} : { status }), ...(item.lostOnce ? { unconfirmed: true } : {}) } };
}

/** The service refused the app's credentials: the gate closes for `cooldownMs`. */
export function refuseCredentials(gate: CredentialGate, cooldownMs: number, reason: string, status?: number): AttemptVerdict {
  gate.refuse(reason, status);
  return { kind: 'outcome', outcome: { type: 'credentials', reason, afterMs: cooldownMs, ...(status === undefined ? {} : { status }) } };
}

/**
 * No request went out (no connection, no access token): a counted attempt, resent no
 * sooner than `retryAt`, when the pool or token source may try again.
 */
export function retryAfterFailedStart(
  item: BatchItem & { attempts: number },
  policy: RetryPolicy,
  reporter: AttemptReporter,
  gate: CredentialGate,
  reason: string,
  retryAt: number,
  now: number,
): AttemptVerdict {
  gate.probeInconclusive();
  item.attempts += 1;
  return retryLater(item, policy, reporter, reason, undefined, undefined, Math.max(0, retryAt - now));
}
