import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { MAX_SEND_AHEAD_DAYS } from '../../src/notifications/contract/notification-schema.js';
import { metricValue } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';
import { PipelineHarness, pushApp } from './pipeline-harness.js';
import type { PipelineMode } from './pipeline-harness.js';

// Regression: a sendAt more than 2^31−1 ms (24.8 days) ahead overflowed setTimeout in the
// embedded queue: the job fired at once, was delayed again, and spun forever (≈ 11 % CPU
// and a TimeoutOverflowWarning flood per notification). Now: up to 30 days are held idle,
// later is refused.

const DAY_MS = 24 * 3600 * 1000;
const realtime = { channels: ['later'], event: 'reminder', data: { n: 1 } };
const isoIn = (ms: number): string => new Date(Date.now() + ms).toISOString();

for (const mode of ['memory', 'redis'] as const satisfies readonly PipelineMode[]) {
  describe(`far sendAt (${mode} queue)`, () => {
    let h: PipelineHarness;
    before(async () => {
      h = await PipelineHarness.start(mode);
    });
    after(async () => {
      await h.stop();
    });

    it('holds a notification 29 days ahead without re-running it or overflowing a timer', async () => {
      const held = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, id: `far-${mode}`, realtime, sendAt: isoIn(29 * DAY_MS) });
      assert.equal(held.status, 202, JSON.stringify(held.body));
      // Anything the far one did wrong (fire at once, re-arm) happens long before a later, short one is delivered.
      const soon = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, id: `soon-${mode}`, realtime, sendAt: isoIn(300) });
      assert.equal(soon.status, 202);
      assert.equal((await h.finished(`soon-${mode}`)).state, 'completed');
      const status = await h.status(`far-${mode}`);
      assert.equal(status?.state, 'queued');
      assert.deepEqual(h.herald.lines.filter((line) => line.includes('TimeoutOverflowWarning')), []);
      const delayed = await metricValue(h.herald.metricsPort, 'herald_queue_jobs', { queue: 'notification-batches', state: 'delayed' });
      assert.equal(delayed, 1, 'the far notification waits as one delayed envelope of its own');
    });

    it(`refuses a sendAt more than ${MAX_SEND_AHEAD_DAYS} days ahead with 400 on sendAt, and counts it`, async () => {
      const before = await metricValue(h.herald.metricsPort, 'herald_input_limit_refusals_total', { reason: 'send_at', type: 'http' });
      const answer = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, realtime, sendAt: isoIn((MAX_SEND_AHEAD_DAYS + 1) * DAY_MS) });
      assert.equal(answer.status, 400);
      assert.equal(answer.body.path, 'sendAt');
      assert.match(String(answer.body.error), /at most 30 days ahead/);
      assert.equal(await metricValue(h.herald.metricsPort, 'herald_input_limit_refusals_total', { reason: 'send_at', type: 'http' }), before + 1);
    });

    if (mode === 'redis') {
      it('fails a job from another producer whose sendAt is beyond the limit at once', async () => {
        await h.queueAdd({ v: 1, app: pushApp.id, realtime, sendAt: isoIn(365 * DAY_MS) }, 'far-raw');
        const status = await h.finished('far-raw');
        assert.equal(status.state, 'failed');
        assert.match(String(status.error), /sendAt: must be at most 30 days ahead/);
        const queue = new Queue('notifications', { connection: { url: h.redis?.url ?? '' }, prefix: h.prefix });
        try {
          const job = await waitFor(() => queue.getJob('far-raw'), { what: 'the job' });
          assert.equal(job.attemptsMade, 1);
        } finally {
          await queue.close();
        }
      });
    }
  });
}
