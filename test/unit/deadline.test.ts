import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadlineAfter, sleep } from '../../src/lib/deadline.js';
import { waitFor } from '../helpers/wait.js';

const DAY_MS = 24 * 3600 * 1000;

// AbortSignal.timeout and timers/promises' setTimeout overflow past 2^31−1 ms and fire
// after 1 ms; these helpers exist because they do not.
describe('deadlineAfter', () => {
  it('a 30-day deadline has not aborted after a 20 ms timer (AbortSignal.timeout would have, after 1 ms)', async () => {
    const signal = deadlineAfter(30 * DAY_MS);
    await sleep(20);
    assert.equal(signal.aborted, false);
  });

  it('a short deadline aborts with a reason that names it', async () => {
    const signal = deadlineAfter(5);
    // The deadline's timer is unref'd (it never holds the process open): waitFor keeps the loop alive.
    await waitFor(() => signal.aborted, { what: 'the 5 ms deadline', timeoutMs: 5_000 });
    assert.match(String((signal.reason as Error).message), /deadline of 5 ms passed/);
  });
});
