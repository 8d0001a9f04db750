import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { backoffDelay } from '../../src/lib/backoff.js';
import { decideRetry } from '../../src/providers/shared/retry-policy.js';
import type { RetryPolicy } from '../../src/providers/shared/retry-policy.js';

const policy: RetryPolicy = { maxAttempts: 5, backoff: { baseMs: 250, maxMs: 30_000 }, maxInlineWaitMs: 5_000 };
const fixed = (value: number) => () => value;

describe('APNs retry policy', () => {
  it('backs off exponentially with jitter between half and all of the ceiling, capped', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const ceiling = Math.min(30_000, 250 * 2 ** (attempt - 1));
        const delay = backoffDelay(attempt, policy.backoff, fixed(r));
        assert.ok(delay >= ceiling / 2 - 1 && delay <= ceiling, `attempt ${attempt}: ${delay} outside [${ceiling / 2}, ${ceiling}]`);
      }),
    );
  });

  it('retries inside the batch while attempts remain and the wait is short', () => {
    assert.deepEqual(decideRetry(1, policy, undefined, fixed(0)), { kind: 'again', delayMs: 125 });
    assert.deepEqual(decideRetry(4, policy, undefined, fixed(1)), { kind: 'again', delayMs: 2_000 });
  });

  it('hands back after maxAttempts, with the delay the next attempt would have needed', () => {
    assert.deepEqual(decideRetry(5, policy, undefined, fixed(1)), { kind: 'give-up', afterMs: 4_000 });
    assert.deepEqual(decideRetry(5, policy, 1_000, fixed(0)), { kind: 'give-up', afterMs: 1_000 });
  });

  it('honours retry-after, never earlier, with at most 10 % (≤ 1 s) of jitter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (retryAfterMs, r) => {
        const decision = decideRetry(1, policy, retryAfterMs, fixed(r));
        const delay = decision.kind === 'again' ? decision.delayMs : decision.afterMs;
        assert.ok(delay >= retryAfterMs && delay <= retryAfterMs + Math.min(retryAfterMs * 0.1, 1_000) + 1, `${retryAfterMs} → ${delay}`);
      }),
    );
  });

  it('does not hold the batch for a wait longer than maxInlineWaitMs', () => {
    assert.deepEqual(decideRetry(1, policy, 60_000, fixed(0)), { kind: 'give-up', afterMs: 60_000 });
    assert.equal(decideRetry(1, policy, 4_000, fixed(0)).kind, 'again');
    assert.equal(decideRetry(1, policy, 4_800, fixed(0.99)).kind, 'give-up', 'jitter counts toward the limit');
  });
});
