import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Envelope } from '../../src/notifications/contract/envelope.js';
import type { Notification, NotificationRef } from '../../src/notifications/contract/notification-schema.js';
import { EnvelopeRunner } from '../../src/notifications/pipeline/envelope-runner.js';
import type { CarrierJob } from '../../src/notifications/pipeline/dispatcher.js';
import type { JobResult } from '../../src/queue/queue-driver.js';

const n = (id: string): Notification => ({ v: 1, app: 'app-1', id, realtime: { channels: ['c'], event: 'e', data: 1 } });

function runner(results: Record<string, JobResult | Error>, options: { lanes?: number; gate?: (id: string) => Promise<void> } = {}) {
  const runs: Array<{ id: string; job: string }> = [];
  let running = 0;
  let mostAtOnce = 0;
  const failed: Array<{ ref: NotificationRef; reason: string }> = [];
  const invalid: string[] = [];
  const envelopeRunner = new EnvelopeRunner({
    dispatcher: {
      run: async (notification: Notification, job: CarrierJob) => {
        runs.push({ id: notification.id, job: job.id });
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        try {
          await options.gate?.(notification.id);
        } finally {
          running -= 1;
        }
        const result = results[notification.id] ?? { type: 'done' };
        if (result instanceof Error) throw result;
        return result;
      },
    },
    finisher: { fail: async (ref, reason) => void failed.push({ ref, reason }) },
    failInvalid: (job, envelope) => invalid.push(...(envelope.invalid ?? []).map((e) => `${job}:${e.index}`)),
    lanes: options.lanes ?? 128,
  });
  const handle = (envelope: Envelope, attempt = 1, signal = new AbortController().signal) => envelopeRunner.handle({ id: 'b:0:x', data: envelope, attempt, enqueuedAt: 1 }, signal);
  return { handle, runs, failed, invalid, mostAtOnce: () => mostAtOnce };
}

/** A gate each run waits at until its id is let through. */
function gates() {
  const waiting = new Map<string, () => void>();
  const arrived: Array<() => void> = [];
  const gate = (id: string) =>
    new Promise<void>((resolve) => {
      waiting.set(id, resolve);
      for (const wake of arrived.splice(0)) wake();
    });
  /** Resolves once `count` runs wait at the gate. */
  const waitingCount = async (count: number): Promise<void> => {
    while (waiting.size < count) await new Promise<void>((resolve) => arrived.push(resolve));
  };
  const open = (id: string): void => {
    const resolve = waiting.get(id);
    assert.ok(resolve, `${id} is waiting at the gate`);
    waiting.delete(id);
    resolve();
  };
  return { gate, waitingCount, open, waiting: () => [...waiting.keys()] };
}

describe('an envelope job', () => {
  it('runs every notification under the envelope as their owner job, and is done when all are', async () => {
    const { handle, runs } = runner({});
    assert.deepEqual(await handle({ v: 1, notifications: [n('a'), n('b'), n('c')] }), { type: 'done' });
    assert.deepEqual(runs, ['a', 'b', 'c'].map((id) => ({ id, job: 'b:0:x' })));
  });

  it('comes back at the earliest delay any of them asked for', async () => {
    const { handle } = runner({ a: { type: 'delay', afterMs: 5_000 }, b: { type: 'delay', afterMs: 300 } });
    assert.deepEqual(await handle({ v: 1, notifications: [n('a'), n('b'), n('c')] }), { type: 'delay', afterMs: 300 });
  });

  it('fails a notification that failed for good on its own, and goes on with the rest', async () => {
    const { handle, failed } = runner({ b: { type: 'failed', reason: 'unknown app' } });
    assert.deepEqual(await handle({ v: 1, notifications: [n('a'), n('b')] }), { type: 'done' });
    assert.deepEqual(failed, [{ ref: { app: 'app-1', id: 'b' }, reason: 'unknown app' }]);
  });

  it('throws when one of them could not be run, after all of them ran, so the queue retries the envelope', async () => {
    const { handle, runs } = runner({ a: new Error('redis down') });
    await assert.rejects(handle({ v: 1, notifications: [n('a'), n('b')] }), /redis down/);
    assert.equal(runs.length, 2, 'the others were not abandoned half-way');
  });

  it('fails its invalid entries on the first attempt only', async () => {
    const { handle, invalid } = runner({});
    const envelope: Envelope = { v: 1, notifications: [n('a')], invalid: [{ index: 1, error: 'notifications[1].v: bad' }] };
    await handle(envelope, 1);
    await handle(envelope, 2);
    assert.deepEqual(invalid, ['b:0:x:1']);
  });

  it('runs at most `lanes` notifications at once, in order, starting the next as one finishes', async () => {
    const g = gates();
    const { handle, runs, mostAtOnce } = runner({}, { lanes: 2, gate: g.gate });
    const done = handle({ v: 1, notifications: ['a', 'b', 'c', 'd', 'e'].map(n) });
    await g.waitingCount(2);
    assert.deepEqual(g.waiting(), ['a', 'b']);
    g.open('b');
    await g.waitingCount(2);
    assert.deepEqual(g.waiting(), ['a', 'c']);
    for (const id of ['a', 'c']) g.open(id);
    await g.waitingCount(2);
    for (const id of ['d', 'e']) g.open(id);
    assert.deepEqual(await done, { type: 'done' });
    assert.deepEqual(runs.map((r) => r.id), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(mostAtOnce(), 2);
  });

  it('starts none once told to stop: those not started come back with the envelope at once', async () => {
    const g = gates();
    const { handle, runs } = runner({ a: { type: 'delay', afterMs: 0 } }, { lanes: 1, gate: g.gate });
    const stop = new AbortController();
    const done = handle({ v: 1, notifications: ['a', 'b', 'c'].map(n) }, 1, stop.signal);
    await g.waitingCount(1);
    stop.abort();
    g.open('a');
    assert.deepEqual(await done, { type: 'delay', afterMs: 0 });
    assert.deepEqual(runs.map((r) => r.id), ['a'], 'b and c were not started');
  });

  it('keeps every lane going when one notification throws', async () => {
    const { handle, runs } = runner({ a: new Error('redis down') }, { lanes: 1 });
    await assert.rejects(handle({ v: 1, notifications: ['a', 'b', 'c'].map(n) }), /redis down/);
    assert.deepEqual(runs.map((r) => r.id), ['a', 'b', 'c']);
  });
});
