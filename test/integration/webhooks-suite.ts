import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import Pusher from 'pusher';
import type { WebhookJob } from '../../src/webhooks/webhook-job.js';
import { waitFor } from '../helpers/wait.js';
import { APP, counterValue, deadLetterGauge, startWebhooks, webhookConfig } from './webhooks-harness.js';
import type { HookSpec, RunningWebhooks, WebhookBackend } from './webhooks-harness.js';
import { acceptedEvents, startWebhookReceiver } from './webhooks-receiver.js';
import type { ReceivedWebhook, WebhookReceiver } from './webhooks-receiver.js';

const sdk = new Pusher({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1' });

function verified(record: ReceivedWebhook): ReturnType<Pusher['webhook']> {
  const webhook = sdk.webhook({ headers: record.headers as Record<string, string>, rawBody: record.rawBody });
  assert.equal(webhook.isValid(), true, `signature refused for ${record.rawBody}`);
  return webhook;
}

/** The webhook pipeline's behaviour, run once per backend (embedded memory, BullMQ on Redis). */
export function webhookSuite(backend: WebhookBackend): void {
  describe(`webhooks on the ${backend.name} queue`, () => {
    const receivers: WebhookReceiver[] = [];
    let running: RunningWebhooks | undefined;

    async function receiver(path?: string): Promise<WebhookReceiver> {
      const r = await startWebhookReceiver(path);
      receivers.push(r);
      return r;
    }

    async function start(hooks: HookSpec[], settings: Parameters<typeof webhookConfig>[1] = {}): Promise<RunningWebhooks> {
      running = await startWebhooks(backend, webhookConfig(hooks, settings));
      return running;
    }

    afterEach(async () => {
      await running?.stop();
      running = undefined;
      for (const r of receivers.splice(0)) await r.close();
    });

    it('signs each batch so the pusher SDK verifies it, with exactly Content-Type application/json', async () => {
      const hook = await receiver();
      const { events } = await start([{ url: hook.url, events: ['channel_occupied'] }]);
      events.emit('channel.occupied', { app: APP.id, channel: 'presence-room' });
      const record = await waitFor(() => hook.accepted()[0], { what: 'a webhook' });
      assert.equal(record.headers['content-type'], 'application/json');
      assert.equal(record.headers['x-pusher-key'], APP.key);
      const webhook = verified(record);
      assert.deepEqual(webhook.getEvents(), [{ name: 'channel_occupied', channel: 'presence-room' }]);
      assert.ok(Math.abs(webhook.getTime().getTime() - Date.now()) < 60_000, 'time_ms is a current timestamp in milliseconds');
      const forged = new Pusher({ appId: APP.id, key: APP.key, secret: 'another-secret-0123', host: '127.0.0.1' });
      assert.equal(forged.webhook({ headers: record.headers as Record<string, string>, rawBody: record.rawBody }).isValid(), false);
    });

    it('batches the events of one window into one body, in order', async () => {
      const hook = await receiver();
      // Occupancy coalescing off: this is about batching (coalescing: webhooks-occupancy-churn, webhook-occupancy-coalescer).
      const { events } = await start([{ url: hook.url, events: ['channel_occupied', 'member_added', 'channel_vacated'] }], { batchMs: 100, occupancyWindowMs: 0 });
      events.emit('channel.occupied', { app: APP.id, channel: 'presence-a' });
      events.emit('member.added', { app: APP.id, channel: 'presence-a', userId: 'u1' });
      events.emit('channel.vacated', { app: APP.id, channel: 'presence-a' });
      const first = await waitFor(() => hook.accepted()[0], { what: 'the batch' });
      assert.deepEqual(verified(first).getEvents(), [
        { name: 'channel_occupied', channel: 'presence-a' },
        { name: 'member_added', channel: 'presence-a', user_id: 'u1' },
        { name: 'channel_vacated', channel: 'presence-a' },
      ]);
      // A later event arrives in a second POST: nothing was split off the first batch.
      events.emit('channel.occupied', { app: APP.id, channel: 'presence-b' });
      await waitFor(() => hook.accepted().length === 2, { what: 'the second batch' });
      assert.equal(hook.received.length, 2);
      assert.deepEqual(acceptedEvents(hook).map((e) => e.channel), ['presence-a', 'presence-a', 'presence-a', 'presence-b']);
    });

    it('sends each webhook only the events it asked for, and custom headers that cannot override the signature', async () => {
      const occupancy = await receiver('/occupancy');
      const members = await receiver('/members');
      const { events } = await start([
        { url: occupancy.url, events: ['channel_occupied', 'channel_vacated'], headers: { 'X-Pusher-Signature': 'forged', Authorization: 'Bearer abc' } },
        { url: members.url, events: ['member_added', 'member_removed'] },
      ], { occupancyWindowMs: 0 });
      events.emit('member.added', { app: APP.id, channel: 'presence-x', userId: 'u7' });
      events.emit('channel.occupied', { app: APP.id, channel: 'presence-x' });
      events.emit('client.event', { app: APP.id, channel: 'private-x', event: 'client-typing', data: { on: true }, socketId: '1.2' });
      events.emit('member.removed', { app: APP.id, channel: 'presence-x', userId: 'u7' });
      await waitFor(() => occupancy.accepted().length >= 1 && members.accepted().length >= 1, { what: 'both webhooks' });
      // A sentinel for each proves nothing else was queued before it.
      events.emit('channel.vacated', { app: APP.id, channel: 'sentinel' });
      events.emit('member.added', { app: APP.id, channel: 'sentinel', userId: 's' });
      await waitFor(() => acceptedEvents(occupancy).some((e) => e.channel === 'sentinel') && acceptedEvents(members).some((e) => e.channel === 'sentinel'));
      assert.deepEqual(acceptedEvents(occupancy), [
        { name: 'channel_occupied', channel: 'presence-x' },
        { name: 'channel_vacated', channel: 'sentinel' },
      ]);
      assert.deepEqual(acceptedEvents(members), [
        { name: 'member_added', channel: 'presence-x', user_id: 'u7' },
        { name: 'member_removed', channel: 'presence-x', user_id: 'u7' },
        { name: 'member_added', channel: 'sentinel', user_id: 's' },
      ]);
      const first = occupancy.accepted()[0] as ReceivedWebhook;
      assert.equal(first.headers.authorization, 'Bearer abc');
      verified(first);
    });

    it('maps client events (data as a string), cache misses, counts and Herald\'s own events', async () => {
      const hook = await receiver();
      const { events } = await start([
        {
          url: hook.url,
          events: ['client_event', 'cache_miss', 'subscription_count', 'apns_token_invalid', 'notification_completed', 'notification_failed'],
        },
      ]);
      events.emit('client.event', { app: APP.id, channel: 'presence-c', event: 'client-move', data: { x: 1 }, socketId: '12.34', userId: 'u1' });
      events.emit('client.event', { app: APP.id, channel: 'private-c', event: 'client-note', data: 'plain', socketId: '12.35' });
      events.emit('cache.miss', { app: APP.id, channel: 'cache-prices' });
      events.emit('subscription.count', { app: APP.id, channel: 'my-channel', count: 3 });
      events.emit('apns.token_invalid', { app: APP.id, notificationId: 'n-1', token: 'ab'.repeat(32), reason: 'Unregistered', timestamp: 1_700_000_000_000 });
      events.emit('notification.completed', { app: APP.id, id: 'n-1', sent: 9, failed: 1 });
      events.emit('notification.failed', { app: APP.id, id: 'n-2', sent: 0, failed: 2, reason: 'expired' });
      events.emit('notification.completed', { app: 'another-app', id: 'n-3', sent: 1, failed: 0 });
      await waitFor(() => acceptedEvents(hook).length >= 7, { what: 'seven events' });
      assert.deepEqual(acceptedEvents(hook), [
        { name: 'client_event', channel: 'presence-c', event: 'client-move', data: '{"x":1}', socket_id: '12.34', user_id: 'u1' },
        { name: 'client_event', channel: 'private-c', event: 'client-note', data: 'plain', socket_id: '12.35' },
        { name: 'cache_miss', channel: 'cache-prices' },
        { name: 'subscription_count', channel: 'my-channel', subscription_count: 3 },
        { name: 'apns_token_invalid', token: 'ab'.repeat(32), reason: 'Unregistered', timestamp: 1_700_000_000_000, notification_id: 'n-1' },
        { name: 'notification_completed', notification_id: 'n-1', sent: 9, failed: 1 },
        { name: 'notification_failed', notification_id: 'n-2', sent: 0, failed: 2, reason: 'expired' },
      ]);
    });

    it('keeps retrying while the endpoint is down and delivers once it is back', async () => {
      const hook = await receiver();
      const { events, metrics } = await start([{ url: hook.url, events: ['channel_occupied'] }], { maxAttempts: 50, backoffBaseMs: 20, backoffMaxMs: 100 });
      await hook.pause();
      events.emit('channel.occupied', { app: APP.id, channel: 'while-down' });
      await waitFor(async () => (await counterValue(metrics, { app: APP.id, status: 'failed' })) >= 3, { what: 'three refused attempts' });
      hook.setMode({ type: 'status', status: 503 });
      await hook.resume();
      await waitFor(() => hook.received.length >= 2, { what: 'attempts answered 503' });
      hook.setMode({ type: 'ok' });
      const delivered = await waitFor(() => hook.accepted()[0], { what: 'delivery after recovery' });
      assert.deepEqual(verified(delivered).getEvents(), [{ name: 'channel_occupied', channel: 'while-down' }]);
      // Every attempt sent the same signed bytes.
      assert.equal(new Set(hook.received.map((r) => `${r.headers['x-pusher-signature']}|${r.rawBody}`)).size, 1);
      // The receiver records the POST before Herald has read the answer: wait for the count.
      await waitFor(async () => (await counterValue(metrics, { app: APP.id, status: 'delivered' })) === 1, { what: 'delivered count' });
      assert.equal(await counterValue(metrics, { app: APP.id, status: 'dead' }), 0);
    });

    it('moves a batch to the dead-letter list after the last attempt, and replays it unchanged', async () => {
      const hook = await receiver();
      const { events, metrics, deadLetters, service } = await start([{ url: hook.url, events: ['channel_occupied'] }], {
        maxAttempts: 3,
        backoffBaseMs: 10,
        backoffMaxMs: 40,
      });
      hook.setMode({ type: 'status', status: 500 });
      events.emit('channel.occupied', { app: APP.id, channel: 'doomed' });
      const [entry] = await waitFor(async () => {
        const list = await deadLetters.list();
        return list.length === 1 ? list : undefined;
      }, { what: 'a dead letter' });
      assert.ok(entry);
      assert.equal(hook.received.length, 3, 'exactly maxAttempts POSTs');
      assert.equal(entry.attempts, 3);
      assert.equal(entry.lastError, 'HTTP 500');
      assert.deepEqual(entry.job.events, ['channel_occupied']);
      assert.equal(await counterValue(metrics, { app: APP.id, status: 'failed' }), 3);
      // The entry is stored before it is counted: wait for the count and the gauge.
      await waitFor(async () => (await counterValue(metrics, { app: APP.id, status: 'dead' })) === 1, { what: 'dead count' });
      await waitFor(async () => (await deadLetterGauge(metrics)) === 1, { what: 'dead-letter gauge' });
      assert.deepEqual((await service.listDeadLetters({ app: 'another-app' })).length, 0);

      hook.setMode({ type: 'ok' });
      const replayed = await service.replayDeadLetters({ app: APP.id });
      assert.deepEqual(replayed.map((e) => e.id), [entry.id]);
      assert.equal(await deadLetters.size(), 0);
      assert.equal(await deadLetterGauge(metrics), 0);
      const delivered = await waitFor(() => hook.accepted()[0], { what: 'the replayed batch' });
      assert.equal(delivered.rawBody, entry.job.body);
      assert.deepEqual(verified(delivered).getEvents(), [{ name: 'channel_occupied', channel: 'doomed' }]);
      assert.deepEqual(await service.replayDeadLetters({ app: APP.id }), [], 'a second replay finds nothing');
    });

    it('gives up on a receiver that never answers after timeoutMs, attempt after attempt', async () => {
      const hook = await receiver();
      const { events, deadLetters } = await start([{ url: hook.url, events: ['channel_vacated'] }], {
        maxAttempts: 2,
        timeoutMs: 150,
        backoffBaseMs: 10,
        backoffMaxMs: 20,
      });
      hook.setMode({ type: 'hang' });
      events.emit('channel.vacated', { app: APP.id, channel: 'silent' });
      const [entry] = await waitFor(async () => {
        const list = await deadLetters.list();
        return list.length === 1 ? list : undefined;
      }, { what: 'a dead letter after timeouts' });
      assert.equal(entry?.lastError, 'no answer within 150 ms');
      assert.equal(hook.received.length, 2);
    });

    it('flushes an open batch into the queue at shutdown, so it is still delivered', async () => {
      const hook = await receiver();
      const { events, service, queue } = await start([{ url: hook.url, events: ['channel_occupied'] }], { batchMs: 60_000 });
      events.emit('channel.occupied', { app: APP.id, channel: 'late' });
      await service.stop(new AbortController().signal);
      const delivered = await waitFor(() => hook.accepted()[0], { what: 'the flushed batch' });
      assert.deepEqual(verified(delivered).getEvents(), [{ name: 'channel_occupied', channel: 'late' }]);
      // The receiver answers before the job is marked completed: wait for the queue to record it.
      await waitFor(async () => (await queue.counts()).completed >= 1, { what: 'the flushed batch job completed' });
    });

    it('fails a job whose data another program wrote wrongly, without blocking the queue', async () => {
      const hook = await receiver();
      const { events, queue } = await start([{ url: hook.url, events: ['channel_occupied'] }]);
      await queue.enqueue('garbage-job', { v: 1, app: APP.id, url: 'ftp://nope' } as unknown as WebhookJob);
      events.emit('channel.occupied', { app: APP.id, channel: 'after-garbage' });
      await waitFor(() => hook.accepted()[0], { what: 'the good batch' });
      await waitFor(async () => (await queue.state('garbage-job')) === 'failed', { what: 'the invalid job to fail' });
    });
  });
}

