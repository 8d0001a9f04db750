import { backoffDelay } from '../../lib/backoff.js';
import type { BackoffPolicy } from '../../lib/backoff.js';

/**
 * When a token's request is sent again inside the batch and when it is handed back to
 * the caller instead.
 *
 * - The push service's `retry-after` (429, 503) is honoured: never earlier, plus up
 *   to 10 % jitter (at most 1 s) so tokens refused together do not come back as one burst.
 * - Without it (500, 503, network errors), exponential backoff with jitter and a cap.
 * - A token gets at most `maxAttempts` counted requests. A wait longer than
 *   `maxInlineWaitMs` is not spent holding the batch: the token comes back as `retry`
 *   with `afterMs` and the queue reschedules it.
 */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  readonly maxInlineWaitMs: number;
}

export const defaultRetryTuning = { backoff: { baseMs: 250, maxMs: 30_000 }, maxInlineWaitMs: 5_000 } as const;

export type RetryDecision = { kind: 'again'; delayMs: number } | { kind: 'give-up'; afterMs: number };

export function decideRetry(
  attempts: number,
  policy: RetryPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): RetryDecision {
  const delayMs = retryAfterMs === undefined ? backoffDelay(attempts, policy.backoff, random) : withJitter(retryAfterMs, random);
  if (attempts >= policy.maxAttempts || delayMs > policy.maxInlineWaitMs) return { kind: 'give-up', afterMs: delayMs };
  return { kind: 'again', delayMs };
}

function withJitter(ms: number, random: () => number): number {
  return Math.round(ms + random() * Math.min(ms * 0.1, 1_000));
}
