import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type Pusher from 'pusher';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { scrapeMetrics } from '../helpers/prometheus-text.js';
import type { PromScrape } from '../helpers/prometheus-text.js';
import { collect, connected, pusherClient, serverSdk, subscribe } from '../helpers/pusher-clients.js';
import type { PusherClient } from '../helpers/pusher-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';
import { acceptedEvents, startWebhookReceiver } from './webhooks-receiver.js';
import type { WebhookReceiver } from './webhooks-receiver.js';

/**
 * One daemon (Redis, APNs mock, webhook receiver), scraped before and after a scripted
 * workload: every metric the workload touches must have moved by what it did, and no
 * label may carry a token, channel, user or socket id.
 */
const app = { id: 'app-metrics', key: 'key-metrics', secret: 'secret-metrics-01' } as const;
const A = { app: app.id };
const suffix = randomUUID().slice(0, 8);
const channels = { lobby: `lobby-${suffix}`, secret: `private-room-${suffix}`, team: `presence-team-${suffix}` };
const users = { alice: `alice-${suffix}`, bob: `bob-${suffix}` };
const token = (): string => randomBytes(32).toString('hex');
const tokens = { ok: token(), dead: token(), throttled: token(), flaky: token() };
const notificationIds = [`n-dead-${suffix}`, `n-throttled-${suffix}`, `n-flaky-${suffix}`];
const payload = { aps: { alert: { title: 'Hi', body: 'metrics' } } };
const CLIENT_EVENTS_SENT = 5;
const eventsRoute = { route: '/apps/:appId/events', method: 'POST' };

describe('metrics move with a real workload', () => {
  let redis: TestRedis;
  let mock: ApnsMock;
  let receiver: WebhookReceiver;
  let herald: HeraldProcess;
  let sdk: Pusher;
  let beforeScrape: PromScrape;
  let during: PromScrape;
  let afterScrape: PromScrape;
  const socketIds: string[] = [];
  const clients: PusherClient[] = [];
  const delta = (name: string, labels: Record<string, string> = {}): number => afterScrape.value(name, labels) - beforeScrape.value(name, labels);
  const scrapeUntil = (what: string, check: (s: PromScrape) => boolean): Promise<PromScrape> =>
    waitFor(async () => {
      const s = await scrapeMetrics(herald.metricsPort);
      return check(s) ? s : undefined;
    }, { what, timeoutMs: 20_000, intervalMs: 50 });

  before(async () => {
    const credentials = await testCredentials();
    [redis, mock, receiver] = await Promise.all([startRedis(), ApnsMock.start({ credentials, auth: 'certificate' }), startWebhookReceiver()]);
    herald = await startHeraldProcess({
      config: {
        redis: { url: redis.url, keyPrefix: `m${suffix}` },
        queue: { prefix: `mq${suffix}`, chunkSize: 100, concurrency: 4, lockDurationMs: 2_000 },
        webhooks: { batchMs: 20, occupancyWindowMs: 0 },
        apps: [
          {
            ...app,
            enableClientMessages: true,
            limits: { maxClientEventsPerSecond: 2 },
            webhooks: [{ url: receiver.url, events: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'apns_token_invalid', 'notification_completed'] }],
            apns: { topic: 'com.example.app', cert: credentials.clientCertPath, key: credentials.clientKeyPath, endpoint: { host: mock.host, port: mock.port, ca: credentials.caCertPath } },
          },
        ],
      },
    });
    sdk = serverSdk(herald.httpPort, app);
    beforeScrape = await scrapeUntil('herald ready', (s) => s.value('herald_ready') === 1);
    assert.equal(receiver.received.length, 0, 'no webhook before the workload');

    // Connections and subscriptions: two presence members, one public listener.
    const alice = pusherClient(herald.httpPort, app, { presence: { user_id: users.alice } });
    const bob = pusherClient(herald.httpPort, app, { presence: { user_id: users.bob } });
    const carol = pusherClient(herald.httpPort, app);
    clients.push(alice, bob, carol);
    socketIds.push(...(await Promise.all(clients.map((c) => connected(c)))));
    const lobbyAlice = await subscribe(alice, channels.lobby);
    const lobbyCarol = await subscribe(carol, channels.lobby);
    const secret = await subscribe(alice, channels.secret);
    await subscribe(alice, channels.team);
    await subscribe(bob, channels.team);

    // API events, one refused signature, one unmatched route.
    const atCarol = collect(lobbyCarol.channel, 'news');
    const atAlice = collect(lobbyAlice.channel, 'news');
    await sdk.trigger(channels.lobby, 'news', { n: 1 });
    await sdk.trigger(channels.lobby, 'news', { n: 2 });
    await waitFor(() => atCarol.length === 2 && atAlice.length === 2, { what: 'both API events at both lobby subscribers' });
    const forged = serverSdk(herald.httpPort, { ...app, secret: 'not-the-secret-01' });
    await assert.rejects(forged.trigger(channels.lobby, 'news', { n: 3 }), (err: { status?: number }) => err.status === 401);
    assert.equal((await fetch(`${herald.baseUrl}/no-such-route`)).status, 404);

    // Client events in one burst, above the 2 per second limit.
    for (let i = 0; i < CLIENT_EVENTS_SENT; i += 1) secret.channel.trigger('client-typing', { i });
    during = await scrapeUntil('every client event published or rejected', (s) => {
      const published = s.value('herald_events_published_total', { ...A, type: 'client' }) - beforeScrape.value('herald_events_published_total', { ...A, type: 'client' });
      const rejected = s.value('herald_client_events_rejected_total', A) - beforeScrape.value('herald_client_events_rejected_total', A);
      return published + rejected === CLIENT_EVENTS_SENT;
    });

    // Notifications: 200 + 410, 429 retry-after 2 then 200, 500 then 200. Two seconds: the daemon
    // resends inline any wait up to 1 s, and a retry-after of 1 s with no jitter would be one.
    mock.script({ token: tokens.dead, reply: { status: 410, reason: 'Unregistered', timestamp: 1_700_000_000_000 } });
    mock.script({ token: tokens.throttled, times: 1, reply: { status: 429, reason: 'TooManyRequests', retryAfterSeconds: 2 } });
    mock.script({ token: tokens.flaky, times: 1, reply: { status: 500, reason: 'InternalServerError' } });
    const bodies = [[tokens.ok, tokens.dead], [tokens.throttled], [tokens.flaky]].map((list, i) => ({ v: 1, app: app.id, id: notificationIds[i], apns: { tokens: list, payload } }));
    for (const body of bodies) assert.equal((await sdk.post({ path: '/notifications', body: body as unknown as string })).status, 202);
    await scrapeUntil('three notifications completed', (s) => s.value('herald_notifications_finished_total', { ...A, state: 'completed' }) - beforeScrape.value('herald_notifications_finished_total', { ...A, state: 'completed' }) === 3);

    // Disconnect: the connection gauges go back.
    for (const client of clients) client.disconnect();
    await scrapeUntil('connections and channels back to their starting values', (s) =>
      ['herald_ws_connections', 'herald_channels', 'herald_presence_members'].every((name) => s.value(name, A) === beforeScrape.value(name, A)),
    );
    await waitFor(() => acceptedEvents(receiver).filter((e) => e.name === 'channel_vacated').length === 3 && acceptedEvents(receiver).filter((e) => e.name === 'notification_completed').length === 3, {
      what: 'webhooks for the vacated channels and completed notifications',
      timeoutMs: 20_000,
    });
    afterScrape = await scrapeUntil('webhook deliveries counted', (s) => s.value('herald_webhook_deliveries_total', { ...A, status: 'delivered' }) - beforeScrape.value('herald_webhook_deliveries_total', { ...A, status: 'delivered' }) === receiver.accepted().length);
  });

  after(async () => {
    for (const client of clients) client.disconnect();
    await herald?.stop();
    await Promise.all([mock?.close(), receiver?.close(), redis?.stop()]);
  });

  it('counts connections and returns the gauge after disconnects', () => {
    assert.equal(during.value('herald_ws_connections', A) - beforeScrape.value('herald_ws_connections', A), 3);
    assert.equal(afterScrape.value('herald_ws_connections', A), beforeScrape.value('herald_ws_connections', A));
    assert.equal(delta('herald_ws_connections_opened_total', A), 3);
    assert.equal(delta('herald_ws_disconnections_total', { ...A, reason: 'normal' }), 3);
    assert.equal(delta('herald_ws_disconnections_total', A), 3);
  });

  it('reports channels by type and presence members while subscribed, and none after', () => {
    for (const type of ['public', 'private', 'presence']) {
      assert.equal(during.value('herald_channels', { ...A, type }) - beforeScrape.value('herald_channels', { ...A, type }), 1, `${type} channels`);
      assert.equal(afterScrape.value('herald_channels', { ...A, type }), beforeScrape.value('herald_channels', { ...A, type }), `${type} channels after`);
    }
    assert.equal(during.value('herald_presence_members', A) - beforeScrape.value('herald_presence_members', A), 2);
  });

  it('counts published events and WebSocket traffic', () => {
    assert.equal(delta('herald_events_published_total', { ...A, type: 'api' }), 2);
    const frames = delta('herald_ws_messages_sent_total', A);
    // 3 connection_established + 5 subscription_succeeded + 2 events × 2 subscribers + member_added, at least.
    assert.ok(frames >= 13, `ws frames sent moved by ${frames}`);
    assert.ok(delta('herald_ws_sent_bytes_total', A) > frames, 'sent bytes exceed frame count');
    const framesIn = delta('herald_ws_messages_received_total', A);
    assert.ok(framesIn >= 5 + CLIENT_EVENTS_SENT, `ws frames received moved by ${framesIn}`);
    assert.ok(delta('herald_ws_received_bytes_total', A) > framesIn);
  });

  it('rejects client events above the rate limit under reason rate_limited', () => {
    const rejected = delta('herald_client_events_rejected_total', { ...A, reason: 'rate_limited' });
    assert.ok(rejected >= 1, `rate_limited rejections: ${rejected}`);
    assert.equal(rejected + delta('herald_events_published_total', { ...A, type: 'client' }), CLIENT_EVENTS_SENT);
    assert.equal(delta('herald_client_events_rejected_total', A), rejected, 'no other rejection reason');
  });

  it('counts HTTP requests and durations by route pattern, method and status', () => {
    for (const [labels, n] of [
      [{ ...eventsRoute, status: '200' }, 2],
      [{ ...eventsRoute, status: '401' }, 1],
      [{ route: '/apps/:appId/notifications', method: 'POST', status: '202' }, 3],
      [{ route: 'unmatched', method: 'GET', status: '404' }, 1],
    ] as const) {
      assert.equal(delta('herald_http_requests_total', labels), n, JSON.stringify(labels));
      assert.equal(delta('herald_http_request_duration_seconds_count', labels), n, `duration ${JSON.stringify(labels)}`);
      assert.equal(delta('herald_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }), n);
    }
  });

  it('counts notifications and APNs answers by status, retries and invalid tokens', () => {
    // Intake and completion are separate counters: each sums to the number of notifications.
    assert.equal(delta('herald_notifications_accepted_total', A), 3);
    assert.equal(delta('herald_notifications_finished_total', { ...A, state: 'completed' }), 3);
    assert.equal(delta('herald_notifications_finished_total', { ...A, state: 'failed' }), 0);
    assert.equal(delta('herald_notifications_finished_total', A), 3);
    assert.equal(delta('herald_notifications_duplicates_total', A), 0);
    assert.equal(delta('herald_apns_requests_total', { ...A, status: '200', reason: 'Success' }), 3);
    assert.equal(delta('herald_apns_requests_total', { ...A, status: '410', reason: 'Unregistered' }), 1);
    assert.equal(delta('herald_apns_requests_total', { ...A, status: '429', reason: 'TooManyRequests' }), 1);
    assert.equal(delta('herald_apns_requests_total', { ...A, status: '500', reason: 'InternalServerError' }), 1);
    assert.equal(delta('herald_apns_requests_total', A), 6);
    assert.equal(mock.requests.length, 6, 'the mock saw as many requests as were counted');
    assert.equal(delta('herald_apns_request_duration_seconds_count', A), 6);
    assert.equal(delta('herald_apns_invalid_tokens_total', { ...A, reason: 'Unregistered' }), 1);
    // 500 is retried inside the batch (backoff < 1 s); retry-after 2 s exceeds the inline wait, so the queue reschedules it.
    assert.equal(delta('herald_apns_retries_total', { ...A, reason: 'InternalServerError' }), 1);
    assert.equal(delta('herald_chunks_retried_total', { ...A, reason: 'TooManyRequests' }), 1);
    assert.equal(afterScrape.value('herald_apns_in_flight', A), 0);
    assert.ok(afterScrape.value('herald_apns_sessions', A) >= 1);
  });

  it('reports queue jobs, job durations and enqueue-to-send times', () => {
    // Posted one after another, each notification is an envelope of its own; shared envelopes are forgotten once completed.
    assert.equal(delta('herald_queue_jobs', { queue: 'notification-batches', state: 'completed' }), 0);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) assert.equal(afterScrape.value('herald_queue_jobs', { queue: 'notification-batches', state }), 0, state);
    // The throttled notification's job ran twice: delayed by the retry-after, then done.
    assert.equal(delta('herald_job_duration_seconds_count', { status: 'done' }), 3);
    assert.equal(delta('herald_job_duration_seconds_count', { status: 'delay' }), 1);
    assert.equal(delta('herald_job_duration_seconds_count'), 4);
    assert.equal(delta('herald_enqueue_to_first_send_seconds_count', A), 3);
    assert.equal(afterScrape.value('herald_invalid_jobs_total'), beforeScrape.value('herald_invalid_jobs_total'));
  });

  it('counts delivered webhooks', () => {
    assert.ok(receiver.accepted().length >= 1);
    assert.equal(delta('herald_webhook_deliveries_total', { ...A, status: 'delivered' }), receiver.accepted().length);
    assert.equal(delta('herald_webhook_deliveries_total', { ...A, status: 'dead' }), 0);
    assert.equal(delta('herald_queue_jobs', { queue: 'webhooks', state: 'completed' }), receiver.accepted().length, 'one webhook job per delivered POST');
    const invalid = acceptedEvents(receiver).filter((e) => e.name === 'apns_token_invalid');
    assert.deepEqual(invalid.map((e) => e.token), [tokens.dead]);
  });

  it('reports process health: ready, Redis, certificate expiry, event-loop lag', () => {
    assert.equal(afterScrape.value('herald_ready'), 1);
    assert.equal(afterScrape.value('herald_redis_connected'), 1);
    const expiry = afterScrape.value('herald_apns_certificate_expiry_timestamp_seconds', A);
    assert.ok(expiry > Date.now() / 1000, `certificate expiry ${expiry}`);
    assert.equal(afterScrape.value('herald_apns_credentials_ok', A), 1);
    // prom-client's default collector measures the lag; Herald exports no copy of it.
    const lag = afterScrape.matching('nodejs_eventloop_lag_p99_seconds');
    assert.equal(lag.length, 1);
    assert.ok(Number.isFinite(lag[0]?.value) && (lag[0]?.value ?? -1) >= 0);
    assert.equal(afterScrape.types.get('nodejs_eventloop_lag_p99_seconds'), 'gauge');
    assert.deepEqual(afterScrape.matching('herald_event_loop_lag_seconds'), []);
  });

  it('never puts a token, channel, user, socket or notification id in a label', () => {
    const secrets = [...Object.values(tokens), ...Object.values(tokens).map((t) => t.toUpperCase()), ...Object.values(channels), ...Object.values(users), ...socketIds, ...notificationIds, suffix];
    assert.equal(socketIds.length, 3);
    const leaks = afterScrape.samples
      .filter((s) => s.name.startsWith('herald_'))
      .flatMap((s) => Object.entries(s.labels).filter(([, v]) => secrets.some((x) => v.includes(x))).map(([k, v]) => `${s.name}{${k}="${v}"}`));
    assert.deepEqual(leaks, []);
    assert.ok(afterScrape.samples.filter((s) => s.name.startsWith('herald_')).length > 50, 'the scrape holds herald series');
  });
});
