import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Envelope } from '../../src/notifications/contract/envelope.js';
import type { Notification, NotificationRef } from '../../src/notifications/contract/notification-schema.js';
import { EnvelopeRunner } from '../../src/notifications/pipeline/envelope-runner.js';
import type { CarrierJob } from '../../src/notifications/pipeline/dispatcher.js';
import type { JobResult } from '../../src/queue/queue-driver.js';

const n = (id: string): Notification => ({ v: 1, app: 'app-1', id, realtime: { channels: ['c'], event: 'e', data: 1 } });

function runner(results: Record<string, JobResult | Error>) {
  const runs: Array<{ id: string; job: string }> = [];
  const failed: Array<{ ref: NotificationRef; reason: string }> = [];
  const invalid: string[] = [];
  const envelopeRunner = new EnvelopeRunner({
    dispatcher: {
      run: async (notification: Notification, job: CarrierJob) => {
        runs.push({ id: notification.id, job: job.id });
        const result = results[notification.id] ?? { type: 'done' };
        if (result instanceof Error) throw result;
        return result;
      },
    },
    finisher: { fail: async (ref, reason) => void failed.push({ ref, reason }) },
    failInvalid: (job, envelope) => invalid.push(...(envelope.invalid ?? []).map((e) => `${job}:${e.index}`)),
  });
  const handle = (envelope: Envelope, attempt = 1) => envelopeRunner.handle({ id: 'b:0:x', data: envelope, attempt, enqueuedAt: 1 }, new AbortController().signal);
  return { handle, runs, failed, invalid };
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
});
