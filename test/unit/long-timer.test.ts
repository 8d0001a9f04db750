import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryQueueDriver } from '../../src/queue/memory-queue-driver.js';
import { sleep } from '../../src/lib/deadline.js';
import { MAX_TIMER_MS, setLongTimeout } from '../../src/lib/long-timer.js';
import { waitFor } from '../helpers/wait.js';

const DAY_MS = 24 * 3600 * 1000;

/** Collects TimeoutOverflowWarnings (setTimeout given more than 2^31−1 ms fires at once). */
function overflowWarnings(): { count: () => number; stop: () => void } {
  let count = 0;
  const onWarning = (warning: Error): void => {
    if (warning.name === 'TimeoutOverflowWarning') count += 1;
  };
  process.on('warning', onWarning);
  return { count: () => count, stop: () => process.off('warning', onWarning) };
}

// Regression: a job delayed past 24.8 days (a far sendAt) ran at once in the embedded
// queue and was delayed again, forever: one CPU-spinning loop and a warning flood per notification.
describe('far delays', () => {
  it('the memory queue holds a job delayed 40 days while a 20 ms one runs, without overflow warnings', async () => {
    const warnings = overflowWarnings();
    const ran: string[] = [];
    const queue = new MemoryQueueDriver<string>({ name: 'far', jobName: 'j', parse: (data) => ({ ok: true, value: String(data) }), maxJobAttempts: 1, backoff: () => 0 });
    queue.consume(async (job) => {
      ran.push(job.id);
      return { type: 'done' };
    }, { concurrency: 1 });
    await queue.start();
    try {
      await queue.enqueue('far', 'x', { delayMs: 40 * DAY_MS });
      await queue.enqueue('near', 'y', { delayMs: 20 });
      await waitFor(() => ran.includes('near'), { what: 'the 20 ms job' });
      assert.deepEqual(ran, ['near']);
      assert.equal(await queue.state('far'), 'delayed');
      assert.equal(warnings.count(), 0);
    } finally {
      warnings.stop();
      await queue.stop(AbortSignal.timeout(1_000));
    }
  });

  it('setLongTimeout: beyond the range waits, Infinity never fires, NaN and negatives fire next, clear cancels', async () => {
    const warnings = overflowWarnings();
    const fired: string[] = [];
    const far = setLongTimeout(() => fired.push('far'), MAX_TIMER_MS + 1);
    const never = setLongTimeout(() => fired.push('never'), Infinity);
    const cleared = setLongTimeout(() => fired.push('cleared'), 5);
    cleared.clear();
    setLongTimeout(() => fired.push('nan'), Number.NaN);
    setLongTimeout(() => fired.push('negative'), -5);
    setLongTimeout(() => fired.push('soon'), 30);
    try {
      await waitFor(() => fired.includes('soon'), { what: 'the 30 ms timer' });
      assert.deepEqual(fired, ['nan', 'negative', 'soon']);
      assert.equal(warnings.count(), 0);
    } finally {
      far.clear();
      never.clear();
      warnings.stop();
    }
  });

  it('sleep() of 30 days waits until its signal aborts', async () => {
    const warnings = overflowWarnings();
    const controller = new AbortController();
    let settled = false;
    const sleeping = sleep(30 * DAY_MS, controller.signal).then(
      () => 'resolved',
      () => 'aborted',
    );
    void sleeping.then(() => {
      settled = true;
    });
    // Ordered against a 20 ms timer: an overflowing one fires after 1 ms.
    await sleep(20);
    assert.equal(settled, false);
    controller.abort();
    assert.equal(await sleeping, 'aborted');
    warnings.stop();
    assert.equal(warnings.count(), 0);
  });
});
