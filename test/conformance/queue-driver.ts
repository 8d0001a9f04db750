import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { JobHandler, JobResult, ParseResult, QueueDriver, QueueDriverSettings } from '../../src/queue/queue-driver.js';
import { HAND_BACK_GRACE_MS } from '../../src/queue/queue-driver.js';
import { deadlineAfter } from '../../src/lib/deadline.js';
import { waitFor } from '../helpers/wait.js';

export interface Payload {
  n: number;
}

export interface QueueDriverFixture {
  driver: QueueDriver<Payload>;
  /** Adds a job the way another program would (unvalidated data). */
  addForeign(id: string, data: unknown): Promise<void>;
}

export type QueueDriverFactory = (settings: QueueDriverSettings<Payload>) => Promise<QueueDriverFixture>;

function parsePayload(data: unknown): ParseResult<Payload> {
  if (typeof data === 'object' && data !== null && typeof (data as { n?: unknown }).n === 'number') return { ok: true, value: { n: (data as Payload).n } };
  return { ok: false, error: 'n: expected a number' };
}

interface Recorder {
  settings: QueueDriverSettings<Payload>;
  invalid: Array<{ id: string; error: string }>;
  failed: Array<{ id: string; reason: string }>;
  errors: unknown[];
}

function recorder(overrides: Partial<QueueDriverSettings<Payload>> = {}): Recorder {
  const rec: Recorder = {
    invalid: [],
    failed: [],
    errors: [],
    settings: {
      name: 'conformance',
      jobName: 'work',
      parse: parsePayload,
      maxJobAttempts: 3,
      backoff: () => 10,
      onInvalid: (e) => rec.invalid.push({ id: e.id, error: e.error }),
      onFailed: (e) => rec.failed.push({ id: e.id, reason: e.reason }),
      onError: (e) => rec.errors.push(e.error),
      ...overrides,
    },
  };
  return rec;
}

/** One suite, run for every QueueDriver implementation. */
export function queueDriverConformance(label: string, factory: QueueDriverFactory): void {
  describe(`QueueDriver conformance: ${label}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function open(rec: Recorder, handler: JobHandler<Payload>, concurrency = 1): Promise<QueueDriver<Payload>> {
      const fixture = await factory(rec.settings);
      fixture.driver.consume(handler, { concurrency });
      await fixture.driver.start();
      cleanups.push(() => fixture.driver.stop(deadlineAfter(5_000)));
      return fixture.driver;
    }

    it('runs an enqueued job once with its data and completes it', async () => {
      const seen: Array<{ id: string; n: number; attempt: number }> = [];
      const driver = await open(recorder(), async (job) => {
        seen.push({ id: job.id, n: job.data.n, attempt: job.attempt });
        return { type: 'done' };
      });
      assert.deepEqual(await driver.enqueue('job-a', { n: 7 }), { id: 'job-a', duplicate: false });
      await waitFor(async () => (await driver.state('job-a')) === 'completed', { what: 'job-a completed' });
      assert.deepEqual(seen, [{ id: 'job-a', n: 7, attempt: 1 }]);
    });

    it('treats the same id as a duplicate and runs it once', async () => {
      let runs = 0;
      const driver = await open(recorder(), async () => {
        runs += 1;
        return { type: 'done' };
      });
      await driver.enqueue('same', { n: 1 }, { delayMs: 200 });
      assert.deepEqual(await driver.enqueue('same', { n: 2 }), { id: 'same', duplicate: true });
      await waitFor(async () => (await driver.state('same')) === 'completed', { what: 'completed' });
      assert.deepEqual(await driver.enqueue('same', { n: 3 }), { id: 'same', duplicate: true });
      await driver.enqueue('other', { n: 4 });
      await waitFor(async () => (await driver.state('other')) === 'completed', { what: 'other completed' });
      assert.equal(runs, 2);
    });

    it('runs a job enqueued under a fresh id once, not a duplicate', async () => {
      const seen: number[] = [];
      const driver = await open(recorder(), async (job) => {
        seen.push(job.data.n);
        return { type: 'done' };
      });
      assert.deepEqual(await driver.enqueue('fresh-a', { n: 5 }, { freshId: true }), { id: 'fresh-a', duplicate: false });
      await waitFor(async () => (await driver.state('fresh-a')) === 'completed', { what: 'fresh-a completed' });
      assert.deepEqual(seen, [5]);
    });

    it('forgets a job enqueued to be forgotten once it completes, and keeps the others', async () => {
      const seen: number[] = [];
      const driver = await open(recorder(), async (job) => {
        seen.push(job.data.n);
        return { type: 'done' };
      });
      await driver.enqueue('forgotten', { n: 1 }, { freshId: true, forgetWhenCompleted: true });
      await driver.enqueue('kept', { n: 2 });
      await waitFor(async () => (await driver.state('kept')) === 'completed' && seen.includes(1), { what: 'both ran' });
      await waitFor(async () => (await driver.state('forgotten')) === undefined, { what: 'forgotten once completed' });
      assert.deepEqual([...seen].sort(), [1, 2]);
      assert.equal(await driver.state('kept'), 'completed');
    });

    it('holds a delayed job until its time', async () => {
      const ranAt: number[] = [];
      const driver = await open(recorder(), async () => {
        ranAt.push(Date.now());
        return { type: 'done' };
      });
      const enqueuedAt = Date.now();
      await driver.enqueue('later', { n: 1 }, { delayMs: 400 });
      assert.equal(await driver.state('later'), 'delayed');
      await waitFor(() => ranAt.length === 1, { what: 'delayed job ran' });
      assert.ok((ranAt[0] ?? 0) - enqueuedAt >= 400, `ran after ${(ranAt[0] ?? 0) - enqueuedAt} ms`);
    });

    it('retries with growing attempt numbers and fails after maxAttempts', async () => {
      const rec = recorder({ maxJobAttempts: 3 });
      const attempts: number[] = [];
      const driver = await open(rec, async (job) => {
        attempts.push(job.attempt);
        return { type: 'failed-attempt', afterMs: 20, reason: 'endpoint busy' };
      });
      await driver.enqueue('flaky', { n: 1 });
      await waitFor(async () => (await driver.state('flaky')) === 'failed', { what: 'flaky failed' });
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.deepEqual(rec.failed, [{ id: 'flaky', reason: 'endpoint busy' }]);
    });

    it('re-runs a job that asked for a delay without counting an attempt', async () => {
      const attempts: number[] = [];
      const driver = await open(recorder({ maxJobAttempts: 1 }), async (job) => {
        attempts.push(job.attempt);
        return attempts.length < 3 ? { type: 'delay', afterMs: 20 } : { type: 'done' };
      });
      await driver.enqueue('patient', { n: 1 });
      await waitFor(async () => (await driver.state('patient')) === 'completed', { what: 'patient completed' });
      assert.deepEqual(attempts, [1, 1, 1]);
    });

    it('retries a handler that throws, reporting the error', async () => {
      const rec = recorder();
      let calls = 0;
      const driver = await open(rec, async () => {
        calls += 1;
        if (calls === 1) throw new Error('redis hiccup');
        return { type: 'done' };
      });
      await driver.enqueue('throws', { n: 1 });
      await waitFor(async () => (await driver.state('throws')) === 'completed', { what: 'completed after throw' });
      assert.equal(calls, 2);
      assert.match(String(rec.errors[0]), /redis hiccup/);
    });

    it('fails a permanently failed job at once', async () => {
      const rec = recorder();
      let calls = 0;
      const driver = await open(rec, async () => {
        calls += 1;
        return { type: 'failed', reason: 'no such app' };
      });
      await driver.enqueue('doomed', { n: 1 });
      await waitFor(async () => (await driver.state('doomed')) === 'failed', { what: 'doomed failed' });
      assert.equal(calls, 1);
      assert.deepEqual(rec.failed, [{ id: 'doomed', reason: 'no such app' }]);
    });

    it('fails a job with invalid data from another producer and keeps consuming', async () => {
      const rec = recorder();
      const fixture = await factory(rec.settings);
      const done: number[] = [];
      fixture.driver.consume(async (job) => {
        done.push(job.data.n);
        return { type: 'done' };
      }, { concurrency: 1 });
      await fixture.driver.start();
      cleanups.push(() => fixture.driver.stop(deadlineAfter(5_000)));
      await fixture.addForeign('garbage', { n: 'not a number' });
      await fixture.driver.enqueue('fine', { n: 5 });
      await waitFor(async () => (await fixture.driver.state('fine')) === 'completed', { what: 'fine completed' });
      await waitFor(async () => (await fixture.driver.state('garbage')) === 'failed', { what: 'garbage failed' });
      assert.deepEqual(rec.invalid, [{ id: 'garbage', error: 'n: expected a number' }]);
      assert.deepEqual(done, [5]);
    });

    it('runs up to `concurrency` handlers at once', async () => {
      let running = 0;
      let peak = 0;
      const release: Array<() => void> = [];
      const driver = await open(recorder(), async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => release.push(resolve));
        running -= 1;
        return { type: 'done' };
      }, 2);
      await driver.enqueueMany([1, 2, 3, 4].map((n) => ({ id: `c${n}`, data: { n } })));
      await waitFor(() => release.length === 2, { what: 'two handlers running' });
      assert.equal((await driver.counts()).active, 2);
      while (release.length > 0 || running > 0) {
        release.shift()?.();
        await waitFor(() => release.length > 0 || running === 0, { what: 'next handler' });
      }
      await waitFor(async () => (await driver.counts()).completed === 4, { what: 'all completed' });
      assert.equal(peak, 2);
    });

    it('frees the slot of a job waiting out a delay for other jobs', async () => {
      const order: string[] = [];
      const driver = await open(recorder(), async (job): Promise<JobResult> => {
        order.push(job.id);
        if (job.id === 'slow' && order.filter((id) => id === 'slow').length === 1) return { type: 'delay', afterMs: 500 };
        return { type: 'done' };
      }, 1);
      await driver.enqueue('slow', { n: 1 });
      await waitFor(async () => (await driver.state('slow')) === 'delayed', { what: 'slow delayed' });
      await driver.enqueue('quick', { n: 2 });
      await waitFor(async () => (await driver.state('slow')) === 'completed', { what: 'slow completed' });
      assert.deepEqual(order, ['slow', 'quick', 'slow']);
    });

    it('tells a running handler to hand back at the stop deadline, and does not fail the job', async () => {
      const rec = recorder();
      const fixture = await factory(rec.settings);
      let aborted = false;
      fixture.driver.consume(async (_job, signal) => {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted = true;
        return { type: 'delay', afterMs: 0 };
      }, { concurrency: 1 });
      await fixture.driver.start();
      await fixture.driver.enqueue('long', { n: 1 });
      await waitFor(async () => (await fixture.driver.state('long')) === 'active', { what: 'long active' });
      await fixture.driver.stop(deadlineAfter(200));
      assert.equal(aborted, true);
      assert.deepEqual(rec.failed, []);
      assert.equal(fixture.driver.health().ok, false);
    });

    it('stops within its deadline and the hand-back grace even when a handler ignores the hand-back', async () => {
      const rec = recorder();
      const fixture = await factory(rec.settings);
      let started = false;
      let finish: () => void = () => undefined;
      const stuck = new Promise<void>((resolve) => (finish = resolve));
      fixture.driver.consume(async () => {
        started = true;
        await stuck;
        return { type: 'done' };
      }, { concurrency: 1 });
      await fixture.driver.start();
      await fixture.driver.enqueue('stuck', { n: 1 });
      await waitFor(() => started, { what: 'stuck running' });
      const before = Date.now();
      await fixture.driver.stop(deadlineAfter(200));
      const took = Date.now() - before;
      finish();
      assert.ok(took >= 200 + HAND_BACK_GRACE_MS - 50, `waited for the handler until the grace ran out (${took} ms)`);
      assert.equal(fixture.driver.health().ok, false);
    });

    it('reports when the longest-waiting job was enqueued', async () => {
      const fixture = await factory(recorder().settings);
      await fixture.driver.start();
      cleanups.push(() => fixture.driver.stop(deadlineAfter(5_000)));
      assert.equal(await fixture.driver.oldestWaitingSince(), undefined);
      const before = Date.now();
      await fixture.driver.enqueue('first', { n: 1 });
      await fixture.driver.enqueue('second', { n: 2 });
      await fixture.driver.enqueue('held', { n: 3 }, { delayMs: 60_000 });
      const since = await fixture.driver.oldestWaitingSince();
      assert.ok(since !== undefined && since >= before - 5 && since <= Date.now(), `oldest waiting since ${since}`);
      assert.deepEqual(await fixture.driver.counts(), { waiting: 2, delayed: 1, active: 0, completed: 0, failed: 0 });
    });

    it('removes a delayed or waiting job so it never runs, but not a running or finished one', async () => {
      // The queue may say `active` before the handler runs: a release that comes first lets it through.
      let released = false;
      let letGo: () => void = () => undefined;
      const release = (): void => {
        released = true;
        letGo();
      };
      const ran: string[] = [];
      const driver = await open(recorder(), async (job) => {
        ran.push(job.id);
        if (job.id === 'busy' && !released) await new Promise<void>((resolve) => (letGo = resolve));
        return { type: 'done' };
      });
      await driver.enqueue('later', { n: 1 }, { delayMs: 300 });
      assert.equal(await driver.remove('later'), true);
      assert.equal(await driver.state('later'), undefined);
      assert.equal(await driver.remove('later'), false);
      assert.equal(await driver.remove('never-queued'), false);
      await driver.enqueue('busy', { n: 2 });
      await waitFor(async () => (await driver.state('busy')) === 'active', { what: 'busy running' });
      assert.equal(await driver.remove('busy'), false);
      release();
      await waitFor(async () => (await driver.state('busy')) === 'completed', { what: 'busy completed' });
      assert.equal(await driver.remove('busy'), false);
      // A job due after the removed one's time: once it ran, the removed one would have too.
      await driver.enqueue('after-it', { n: 3 }, { delayMs: 400 });
      await waitFor(async () => (await driver.state('after-it')) === 'completed', { what: 'after-it completed' });
      assert.deepEqual(ran, ['busy', 'after-it']);
      // Its id is free again.
      assert.deepEqual(await driver.enqueue('later', { n: 4 }), { id: 'later', duplicate: false });
    });

    it('reports health once consuming', async () => {
      const driver = await open(recorder(), async () => ({ type: 'done' }));
      assert.deepEqual(driver.health(), { ok: true });
    });
  });
}
