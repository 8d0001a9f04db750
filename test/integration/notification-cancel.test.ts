import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { waitFor } from '../helpers/wait.js';
import { PipelineHarness, deviceToken, pushApp } from './pipeline-harness.js';
import type { PipelineMode } from './pipeline-harness.js';

const alert = { aps: { alert: 'hi' } };

for (const mode of ['memory', 'redis'] as const satisfies readonly PipelineMode[]) {
  describe(`DELETE /apps/{id}/notifications/{nid} and Location (${mode} queue)`, () => {
    let h: PipelineHarness;
    before(async () => {
      h = await PipelineHarness.start(mode);
    });
    after(() => h.stop());

    /** A notification due after `sendAt`: once it is delivered, one due at `sendAt` would have been too. */
    async function deliveredAfter(sendAt: number): Promise<void> {
      const marker = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [deviceToken()], payload: alert }, sendAt: new Date(sendAt + 300).toISOString() });
      assert.equal(marker.status, 202);
      assert.equal((await h.finished(String(marker.body.id))).state, 'completed');
    }

    it('answers 202 with Location, cancels a queued notification (204) which is never sent, then 409 and 404', async () => {
      const token = deviceToken();
      const sendAt = Date.now() + 1_500;
      const id = `later-${mode}`;
      const res = await h.sdk.post({ path: '/notifications', body: { v: 1, app: pushApp.id, id, apns: { tokens: [token], payload: alert }, sendAt: new Date(sendAt).toISOString() } as unknown as string });
      assert.equal(res.status, 202);
      assert.equal(res.headers.get('location'), `/apps/${pushApp.id}/notifications/${id}`);
      assert.deepEqual(await h.api('DELETE', `/notifications/${id}`), { status: 204, body: {} });
      const status = await h.status(id);
      assert.deepEqual([status?.state, status?.error, status?.apns.sent], ['failed', 'cancelled', 0]);
      assert.ok(status && typeof (status as { finishedAt?: unknown }).finishedAt === 'string');
      const again = await h.api('DELETE', `/notifications/${id}`);
      assert.deepEqual([again.status, again.body.state], [409, 'failed']);
      assert.match(String(again.body.error), /only a queued notification can be cancelled/);
      assert.equal((await h.api('DELETE', '/notifications/never-sent')).status, 404);
      // The id stays taken: sending it again queues nothing.
      const repeat = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, id, apns: { tokens: [token], payload: alert } });
      assert.equal(repeat.status, 200);
      await deliveredAfter(sendAt);
      assert.equal(h.requestsFor(token).length, 0, 'the cancelled notification never reached APNs');
      assert.equal((await h.status(id))?.state, 'failed');
    });

    it('refuses to cancel a notification that already went out (409 completed)', async () => {
      const res = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [deviceToken()], payload: alert } });
      const id = String(res.body.id);
      await h.finished(id);
      const refused = await h.api('DELETE', `/notifications/${id}`);
      assert.deepEqual([refused.status, refused.body.state], [409, 'completed']);
    });

    if (mode === 'redis') {
      it('cancels a delayed job another program added straight to BullMQ (no status record yet), removing the job', async () => {
        const token = deviceToken();
        const sendAt = Date.now() + 1_500;
        const jobId = `n:${pushApp.id}:foreign-later`;
        const queue = new Queue('notifications', { connection: { url: h.redis?.url ?? '' }, prefix: h.prefix });
        try {
          await queue.add('notify', { v: 1, app: pushApp.id, id: 'foreign-later', apns: { tokens: [token], payload: alert }, sendAt: new Date(sendAt).toISOString() }, { jobId, delay: 1_500 });
          assert.equal(await h.status('foreign-later'), undefined);
          assert.equal((await h.api('DELETE', '/notifications/foreign-later')).status, 204);
          assert.equal(await queue.getJobState(jobId), 'unknown');
        } finally {
          await queue.close();
        }
        assert.equal((await h.status('foreign-later'))?.error, 'cancelled');
        await deliveredAfter(sendAt);
        await waitFor(() => h.requestsFor(token).length === 0, { what: 'nothing sent' });
        assert.equal(h.requestsFor(token).length, 0);
      });
    }
  });
}
