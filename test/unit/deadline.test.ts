import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadlineAfter, sleep } from '../../src/lib/deadline.js';
import { waitFor } from '../helpers/wait.js';

const DAY_MS = 24 * 3600 * 1000;

/** Two turns of the event loop: a warning node emits on the next tick has arrived by then. */
async function twoTurns(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}

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

  it('takes a listener from every wait that shares it without node warning of a leak', async (t) => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      // Distinct functions: an EventTarget keeps one copy of a listener added twice.
      const listeners = Array.from({ length: 20 }, () => (): void => undefined);
      // A plain signal with as many listeners does warn: the check below can fail.
      const plain = new AbortController().signal;
      for (const listener of listeners) plain.addEventListener('abort', listener);
      // Emitted on the next tick when it is emitted at all: two turns later it would be here.
      await twoTurns();
      if (!warnings.includes('MaxListenersExceededWarning')) {
        t.skip('this Node does not warn of many listeners on an AbortSignal (Node 24 does not; Node 20 does)');
        return;
      }
      warnings.length = 0;
      const deadline = deadlineAfter(30 * DAY_MS);
      for (const listener of listeners) deadline.addEventListener('abort', listener);
      await twoTurns();
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
