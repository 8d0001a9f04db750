import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { collect, connected, metricValue, pusherClient, subscribe } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';
import { invalidBodyCases } from './pipeline-invalid-bodies.js';
import { PipelineHarness, deviceToken, plainApp, pushApp } from './pipeline-harness.js';
import type { PipelineMode } from './pipeline-harness.js';

const alert = { aps: { alert: { title: 'Shipped', body: 'Your order is on its way' }, badge: 1 }, orderId: 1234 };

/** The notification pipeline end to end, run once per queue driver. */
export function pipelineSuite(mode: PipelineMode): void {
  describe(`notification pipeline (${mode} queue)`, () => {
    let h: PipelineHarness;
    before(async () => {
      h = await PipelineHarness.start(mode);
    });
    after(async () => {
      await h.stop();
    });

    it('delivers an HTTP notification to APNs with the right headers and its realtime part to a pusher-js subscriber', async () => {
      const client = pusherClient(h.herald.httpPort, pushApp);
      try {
        await connected(client);
        const { channel } = await subscribe(client, 'orders');
        const events = collect<{ orderId: number }>(channel, 'order.shipped');
        const tokens = [deviceToken(), deviceToken(), deviceToken()];
        const pasted = `<${tokens[2]?.toUpperCase().replace(/(.{8})/g, '$1 ').trim()}>`;
        const expiration = Math.floor(Date.now() / 1000) + 3600;
        const res = await h.sdk.post({
          path: '/notifications',
          body: {
            v: 1,
            app: pushApp.id,
            id: `shipped-${mode}`,
            apns: { tokens: [tokens[0], tokens[1], pasted], priority: 10, expiration, collapseId: 'order-1234', payload: alert },
            realtime: { channels: ['orders'], event: 'order.shipped', data: { orderId: 1234 } },
          } as unknown as string,
        });
        assert.equal(res.status, 202);
        assert.deepEqual(await res.json(), { id: `shipped-${mode}` });

        const status = await h.finished(`shipped-${mode}`);
        assert.equal(status.state, 'completed');
        assert.deepEqual({ ...status.apns, invalidTokens: status.apns.invalidTokens.length }, { total: 3, sent: 3, failed: 0, expired: 0, pending: 0, invalidTokens: 0, failures: {} });
        assert.deepEqual(status.realtime, { channels: 1 });
        assert.equal(status.attempts, 1);

        const requests = h.acceptedFor(new Set(tokens));
        assert.deepEqual(requests.map((r) => r.token).sort(), [...tokens].sort());
        for (const request of requests) {
          assert.equal(request.method, 'POST');
          assert.equal(request.path, `/3/device/${request.token}`);
          assert.equal(request.headers['apns-topic'], 'com.example.app');
          assert.equal(request.headers['apns-push-type'], 'alert');
          assert.equal(request.headers['apns-priority'], '10');
          assert.equal(request.headers['apns-expiration'], String(expiration));
          assert.equal(request.headers['apns-collapse-id'], 'order-1234');
          assert.deepEqual(request.payload, alert);
        }
        await waitFor(() => events.length === 1, { what: 'realtime event at the subscriber' });
        assert.deepEqual(events[0]?.data, { orderId: 1234 });
      } finally {
        client.disconnect();
      }
    });

    it('is idempotent by id: the same id answers 200 and nothing is sent twice', async () => {
      const token = deviceToken();
      const body = { v: 1, app: pushApp.id, id: `once-${mode}`, apns: { tokens: [token], payload: alert } };
      const first = await h.api('POST', '/notifications', body);
      const second = await h.api('POST', '/notifications', body);
      assert.deepEqual([first.status, first.body], [202, { id: `once-${mode}` }]);
      assert.deepEqual([second.status, second.body], [200, { id: `once-${mode}` }]);
      await h.finished(`once-${mode}`);
      const third = await h.api('POST', '/notifications', body);
      assert.deepEqual([third.status, third.body], [200, { id: `once-${mode}` }]);
      const later = deviceToken();
      const marker = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [later], payload: alert } });
      await h.finished(String(marker.body.id));
      assert.equal(h.requestsFor(token).length, 1);
    });

    it('reschedules a token answered 429 retry-after 3 and delivers it ≥ 3 s later, delivering other jobs meanwhile', async () => {
      const slow = deviceToken();
      const sibling = deviceToken();
      h.mock.script({ token: slow, times: 1, reply: { status: 429, reason: 'TooManyRequests', retryAfterSeconds: 3 } });
      const retriedBefore = await metricValue(h.herald.metricsPort, 'herald_chunks_retried_total', { reason: 'TooManyRequests' });
      const a = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, id: `throttled-${mode}`, apns: { tokens: [slow, sibling], payload: alert } });
      assert.equal(a.status, 202);
      const refused = await waitFor(() => h.requestsFor(slow).find((r) => r.status === 429), { what: 'the 429' });

      const fast = deviceToken();
      const b = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [fast], payload: alert } });
      const bStatus = await h.finished(String(b.body.id));
      assert.equal(bStatus.state, 'completed');

      const aStatus = await h.finished(`throttled-${mode}`, 15_000);
      assert.equal(aStatus.state, 'completed');
      assert.equal(aStatus.apns.sent, 2);
      assert.equal(aStatus.attempts, 2);
      const delivered = h.requestsFor(slow).find((r) => r.status === 200);
      const fastAt = h.requestsFor(fast)[0]?.at ?? Infinity;
      assert.ok(delivered, 'the throttled token was delivered');
      assert.ok(delivered.at - refused.at >= 3_000, `delivered ${delivered.at - refused.at} ms after the 429`);
      assert.ok(fastAt > refused.at && fastAt < delivered.at, 'another job was delivered while the token waited');
      assert.equal(h.requestsFor(sibling).length, 1);
      assert.ok((await metricValue(h.herald.metricsPort, 'herald_chunks_retried_total', { reason: 'TooManyRequests' })) > retriedBefore);
    });

    it('records a token APNs calls dead among the invalid tokens, with reason and timestamp', async () => {
      const dead = deviceToken();
      const alive = deviceToken();
      h.mock.script({ token: dead, reply: { status: 410, reason: 'Unregistered', timestamp: 1_700_000_000_000 } });
      const res = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [dead, alive], payload: alert } });
      const status = await h.finished(String(res.body.id));
      assert.equal(status.state, 'completed');
      assert.deepEqual(status.apns.invalidTokens, [{ token: dead, reason: 'Unregistered', timestamp: 1_700_000_000_000 }]);
      assert.deepEqual(status.apns.failures, { Unregistered: 1 });
      assert.equal(status.apns.sent, 1);
    });

    it('holds a notification until sendAt', async () => {
      const token = deviceToken();
      const sendAt = Date.now() + 1_500;
      const res = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [token], payload: alert }, sendAt: new Date(sendAt).toISOString() });
      assert.equal(res.status, 202);
      assert.equal((await h.status(String(res.body.id)))?.state, 'queued');
      await h.finished(String(res.body.id));
      const sent = h.requestsFor(token)[0];
      assert.ok(sent && sent.at >= sendAt - 1, `sent ${sent ? sent.at - sendAt : 'never'} ms after sendAt`);
    });

    it('records an expired notification as expired and sends nothing', async () => {
      const tokens = [deviceToken(), deviceToken()];
      const res = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens, payload: alert, expiration: Math.floor(Date.now() / 1000) - 60 } });
      const status = await h.finished(String(res.body.id));
      assert.equal(status.state, 'failed');
      assert.deepEqual({ sent: status.apns.sent, failed: status.apns.failed, expired: status.apns.expired, failures: status.apns.failures }, { sent: 0, failed: 2, expired: 2, failures: { Expired: 2 } });
      assert.equal(h.mock.requests.filter((r) => tokens.includes(r.token)).length, 0);
    });

    it('delivers a realtime-only notification and finishes it', async () => {
      const res = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, realtime: { channels: ['a', 'b'], event: 'ping', data: 'plain string' } });
      const status = await h.finished(String(res.body.id));
      assert.equal(status.state, 'completed');
      assert.deepEqual(status.realtime, { channels: 2 });
      assert.equal(status.apns.total, 0);
    });

    it(`refuses ${invalidBodyCases().length} invalid bodies with 400 and the path of the first problem, queuing nothing`, async () => {
      const acceptedBefore = await metricValue(h.herald.metricsPort, 'herald_notifications_accepted_total', { app: pushApp.id });
      const requestsBefore = h.mock.requests.length;
      for (const c of invalidBodyCases()) {
        const answer = await h.api('POST', '/notifications', c.body, c.app ?? pushApp);
        assert.equal(answer.status, 400, `${c.name}: ${JSON.stringify(answer.body)}`);
        assert.equal(typeof answer.body.error, 'string', c.name);
        if (c.path !== undefined) assert.equal(answer.body.path, c.path, `${c.name}: ${JSON.stringify(answer.body)}`);
        if (c.error) assert.match(String(answer.body.error), c.error, c.name);
      }
      assert.equal(await metricValue(h.herald.metricsPort, 'herald_notifications_accepted_total', { app: pushApp.id }), acceptedBefore);
      assert.equal(h.mock.requests.length, requestsBefore);
    });

    it('answers 413 over queue.maxNotificationBytes and 404 for an unknown id', async () => {
      const tokens = Array.from({ length: 4_000 }, () => deviceToken());
      const big = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens, payload: alert } });
      assert.equal(big.status, 413);
      assert.match(String(big.body.error), /larger than the limit/);
      assert.equal((await h.api('GET', '/notifications/never-queued')).status, 404);
    });

    it('a replayed signed request without an id creates one notification (three replays used to push three times)', async () => {
      const token = deviceToken();
      const send = h.signed('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [token], payload: alert } });
      const first = await send();
      assert.equal(first.status, 202, JSON.stringify(first.body));
      const id = String(first.body.id);
      for (const replay of [await send(), await send()]) assert.deepEqual([replay.status, replay.body], [200, { id }]);
      assert.equal((await h.finished(id)).apns.sent, 1);
      // A fresh signature is a new request: it makes a new notification, after which the replays would have been sent.
      const marker = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [deviceToken()], payload: alert } });
      assert.notEqual(marker.body.id, id);
      await h.finished(String(marker.body.id));
      assert.equal(h.requestsFor(token).length, 1);
    });

    it("ids are per app: another app's id is taken as the caller's own notification (it used to answer 409)", async () => {
      const token = deviceToken();
      const id = `shared-${mode}`;
      const mine = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, id, apns: { tokens: [token], payload: alert } });
      assert.deepEqual([mine.status, mine.body], [202, { id }]);
      const theirs = await h.api('POST', '/notifications', { v: 1, app: plainApp.id, id, realtime: { channels: ['x'], event: 'e', data: 1 } }, plainApp);
      assert.deepEqual([theirs.status, theirs.body], [202, { id }]);
      const again = await h.api('POST', '/notifications', { v: 1, app: plainApp.id, id, realtime: { channels: ['x'], event: 'e', data: 1 } }, plainApp);
      assert.deepEqual([again.status, again.body], [200, { id }]);
      const pushStatus = await h.finished(id);
      const plainStatus = await h.finished(id, 20_000, plainApp);
      assert.deepEqual([pushStatus.apns.total, pushStatus.apns.sent, pushStatus.realtime.channels], [1, 1, 0]);
      assert.deepEqual([plainStatus.apns.total, plainStatus.realtime.channels], [0, 1]);
      assert.equal(h.requestsFor(token).length, 1);
    });

    it('reports queue jobs by state in metrics', async () => {
      const completed = await waitFor(() => metricValue(h.herald.metricsPort, 'herald_queue_jobs', { queue: 'notification-batches', state: 'completed' }), { what: 'completed jobs metric' });
      assert.ok(completed >= 1);
      assert.equal(await metricValue(h.herald.metricsPort, 'herald_queue_jobs', { queue: 'notification-chunks', state: 'active' }), 0);
    });

    if (mode === 'redis') {
      it('delivers a job another program added with BullMQ Queue.add, realtime part included', async () => {
        const client = pusherClient(h.herald.httpPort, pushApp);
        try {
          await connected(client);
          const { channel } = await subscribe(client, 'raw-producer');
          const events = collect(channel, 'raw.event');
          const token = deviceToken();
          await h.queueAdd({ v: 1, app: pushApp.id, id: 'raw-1', apns: { tokens: [token.toUpperCase()], pushType: 'background', payload: { aps: { 'content-available': 1 } } }, realtime: { channels: ['raw-producer'], event: 'raw.event', data: { from: 'bullmq' } } }, 'raw-1');
          const status = await h.finished('raw-1');
          assert.equal(status.state, 'completed');
          const [request] = h.requestsFor(token);
          assert.equal(request?.headers['apns-push-type'], 'background');
          assert.equal(request?.headers['apns-priority'], '5');
          await waitFor(() => events.length === 1, { what: 'raw job realtime event' });
          assert.deepEqual(events[0]?.data, { from: 'bullmq' });
        } finally {
          client.disconnect();
        }
      });

      it('takes ids named like BullMQ keys as plain ids (POST "wait" used to break the queue for every app); integer ids are refused', async () => {
        const names = ['wait', 'meta', 'events', 'id', 'stalled', 'active', 'delayed', 'paused', 'completed', 'failed', 'prioritized', 'marker', 'limiter', 'pc', 'de', 'repeat', 'stalled-check', 'waiting-children', 'herald-attempts'];
        const tokens = new Map<string, string>();
        for (const id of names) {
          const token = deviceToken();
          tokens.set(id, token);
          const answer = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, id, apns: { tokens: [token], payload: alert } });
          assert.deepEqual([answer.status, answer.body], [202, { id }], `POST id '${id}'`);
        }
        const integer = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, id: '1', apns: { tokens: [deviceToken()], payload: alert } });
        assert.deepEqual([integer.status, integer.body.path], [400, 'id']);
        for (const id of names) {
          const status = await h.finished(id);
          assert.deepEqual([id, status.state, status.apns.sent], [id, 'completed', 1]);
          assert.equal(h.requestsFor(tokens.get(id) ?? '').length, 1, `token of '${id}' sent once`);
        }
        // Every later notification, of any app, is still taken and delivered.
        const later = deviceToken();
        const after = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [later], payload: alert } });
        assert.equal(after.status, 202, JSON.stringify(after.body));
        assert.equal((await h.finished(String(after.body.id))).state, 'completed');
        const other = await h.api('POST', '/notifications', { v: 1, app: plainApp.id, id: 'wait', realtime: { channels: ['x'], event: 'e', data: 1 } }, plainApp);
        assert.equal(other.status, 202, JSON.stringify(other.body));
        assert.equal((await h.finished('wait', 20_000, plainApp)).state, 'completed');
        assert.equal(h.requestsFor(later).length, 1);
      });

      it('delivers a job another program added under the documented job id n:<app>:<id>, status under the app', async () => {
        const token = deviceToken();
        await h.queueAdd({ v: 1, app: pushApp.id, id: 'ruled-1', apns: { tokens: [token], payload: alert } }, `n:${pushApp.id}:ruled-1`);
        assert.equal((await h.finished('ruled-1')).apns.sent, 1);
        const again = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, id: 'ruled-1', apns: { tokens: [token], payload: alert } });
        assert.deepEqual([again.status, again.body], [200, { id: 'ruled-1' }]);
        // A job whose id names another app than its data is refused, not delivered under either app.
        const crossed = deviceToken();
        await h.queueAdd({ v: 1, app: pushApp.id, id: 'crossed-1', apns: { tokens: [crossed], payload: alert } }, `n:${plainApp.id}:crossed-1`);
        await waitFor(() => h.herald.logs().some((line) => line.msg === 'notification job data is invalid: job failed' && line.job === `n:${plainApp.id}:crossed-1`), { what: 'the crossed job refused' });
        assert.equal(h.requestsFor(token).length, 1);
        assert.equal(h.requestsFor(crossed).length, 0);
      });

      it('fails a job with invalid data from another program, counts it, and keeps the queue moving', async () => {
        const invalidBefore = await metricValue(h.herald.metricsPort, 'herald_invalid_jobs_total');
        await h.queueAdd({ v: 1, app: pushApp.id, apns: { tokens: ['not-hex'], payload: alert } }, 'raw-bad-1');
        await h.queueAdd({ hello: 'world' }, 'raw-bad-2');
        const token = deviceToken();
        await h.queueAdd({ v: 1, app: pushApp.id, apns: { tokens: [token], payload: alert } }, 'raw-good-after-bad');
        assert.equal((await h.finished('raw-good-after-bad')).state, 'completed');
        const bad = await h.finished('raw-bad-1');
        assert.equal(bad.state, 'failed');
        assert.match(String(bad.error), /apns\.tokens\[0\]/);
        await waitFor(async () => (await metricValue(h.herald.metricsPort, 'herald_invalid_jobs_total')) >= invalidBefore + 2, { what: 'invalid jobs counted' });
        assert.ok(h.herald.logs().some((line) => line.msg === 'notification job data is invalid: job failed' && line.job === 'raw-bad-2'));
      });
    }
  });
}
