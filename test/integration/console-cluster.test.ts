import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signedRequest } from '../../src/client/signed-request.js';
import { FcmMock } from '../fixtures/fcm/fcm-mock.js';
import { makeServiceAccount } from '../fixtures/fcm/service-account-fixture.js';
import { generateVapidKeys } from '../fixtures/webpush/vapid-keys.js';
import { WebPushMock } from '../fixtures/webpush/webpush-mock.js';
import { testCredentials } from '../helpers/certs.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { connected, pusherClient, serverSdk, subscribe } from '../helpers/pusher-clients.js';
import type { PusherClient } from '../helpers/pusher-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

// In Redis mode the console shows the cluster: a viewer on node A sees what happens on node B.

const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret-123' };
const TOKEN = 'console-token-for-the-cluster-test';

interface SseEvent {
  kind: string;
  data: { type?: string; node?: string; detail?: Record<string, unknown> };
}

/** Reads the console's Server-Sent Events stream with plain fetch, as any client could. */
async function openStream(node: HeraldProcess, signal: AbortSignal): Promise<SseEvent[]> {
  const response = await fetch(`${node.baseUrl}/console/api/stream?app=${APP.id}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: SseEvent[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const kind = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (kind && data) events.push({ kind, data: JSON.parse(data) as SseEvent['data'] });
        }
      }
    } catch {
      // Aborted at the end of the test.
    }
  })();
  return events;
}

describe('debug console across two daemons on one Redis', () => {
  let redis: TestRedis;
  let fcm: FcmMock;
  let webpush: WebPushMock;
  let nodes: HeraldProcess[] = [];
  const clients: PusherClient[] = [];
  const streams = new AbortController();
  const vapid = generateVapidKeys();

  before(async () => {
    const credentials = await testCredentials();
    redis = await startRedis();
    fcm = await FcmMock.start({ credentials });
    const account = makeServiceAccount(fcm.tokenUri);
    fcm.addAccount({ clientEmail: account.clientEmail, projectId: account.projectId, publicKey: account.publicKey });
    webpush = await WebPushMock.start({ cert: credentials.serverCert, key: credentials.serverKey });
    const app = {
      ...APP,
      fcm: { serviceAccountFile: account.path, endpoint: { host: '127.0.0.1', port: fcm.port, ca: credentials.caCertPath } },
      webpush: { allowPrivateEndpoints: true, vapid: { subject: 'mailto:ops@example.com', ...vapid } },
    };
    const config = { redis: { url: redis.url, keyPrefix: 'cc' }, apps: [app], console: { enabled: true, token: TOKEN } };
    // The push service's certificate is the test CA's, as a real one's is a public CA's.
    const env = { NODE_EXTRA_CA_CERTS: credentials.caCertPath };
    nodes = await Promise.all([startHeraldProcess({ config, env }), startHeraldProcess({ config, env })]);
  });

  after(async () => {
    streams.abort();
    for (const client of clients) client.disconnect();
    await Promise.all(nodes.map((node) => node.stop()));
    await Promise.all([fcm?.close(), webpush?.close()]);
    await redis.stop();
  });

  it("shows node B's connection and a publish made on node B to a viewer on node A", async () => {
    const [a, b] = nodes as [HeraldProcess, HeraldProcess];
    const seen = await openStream(a, streams.signal);
    await waitFor(() => seen.some((e) => e.kind === 'hello'), { what: 'the stream to open' });

    const client = pusherClient(b.httpPort, APP);
    clients.push(client);
    const socketId = await connected(client);
    await subscribe(client, 'news');
    const opened = await waitFor(() => seen.find((e) => e.data.type === 'connection.opened' && e.data.detail?.socketId === socketId), {
      what: "node B's connection.opened on node A's stream",
    });
    assert.notEqual(opened.data.node, undefined);
    await waitFor(() => seen.some((e) => e.data.type === 'subscribed' && e.data.detail?.socketId === socketId), { what: "node B's subscription" });

    const sdk = serverSdk(b.httpPort, APP);
    await sdk.trigger('news', 'breaking', { headline: 'made on node B' });
    await sdk.trigger('news', 'marker', { headline: 'after it' });
    await waitFor(() => seen.some((e) => e.data.type === 'publish' && e.data.detail?.event === 'marker'), { what: 'the marker publish on node A' });
    const publishes = seen.filter((e) => e.data.type === 'publish' && e.data.detail?.event === 'breaking');
    assert.equal(publishes.length, 1, 'the publish is shown once, not once per node');
    assert.match(String(publishes[0]?.data.detail?.data), /made on node B/);
  });

  it("shows the user id once node B's socket signs in", async () => {
    const [a, b] = nodes as [HeraldProcess, HeraldProcess];
    const seen = await openStream(a, streams.signal);
    const client = pusherClient(b.httpPort, APP, { user: { id: 'user-42', user_info: { name: 'Ada' } } });
    clients.push(client);
    const socketId = await connected(client);
    client.signin();
    const event = await waitFor(() => seen.find((e) => e.data.type === 'user.signed_in' && e.data.detail?.socketId === socketId), {
      what: "node B's sign-in on node A's stream",
    });
    assert.deepEqual(event.data.detail, { socketId, userId: 'user-42' }, 'the user id, not user_info');
  });
  it("labels node B's FCM and Web Push results by provider on node A, with the invalid tokens and removed devices", async () => {
    const [a, b] = nodes as [HeraldProcess, HeraldProcess];
    const seen = await openStream(a, streams.signal);
    await waitFor(() => seen.some((e) => e.kind === 'hello'), { what: 'the stream to open' });
    const call = (method: 'PUT' | 'POST', path: string, body: unknown) => signedRequest(b.baseUrl, { app: APP.id, key: APP.key, secret: APP.secret }, method, path, { body });

    const [android, androidGone] = [`ok-${randomBytes(8).toString('hex')}:APA91b`, `gone-${randomBytes(8).toString('hex')}:APA91b`];
    const [browser, browserGone] = [webpush.subscribe({ applicationServerKey: vapid.publicKey }), webpush.subscribe({ applicationServerKey: vapid.publicKey })];
    const browserToken = `browser-${browser.id}`;
    const browserGoneToken = `browser-${browserGone.id}`;
    for (const token of [android, androidGone]) assert.equal((await call('PUT', `/devices/${token}`, { userId: 'eve', platform: 'fcm' })).status, 201);
    for (const [token, subscription] of [[browserToken, browser], [browserGoneToken, browserGone]] as const) {
      assert.equal((await call('PUT', `/devices/${token}`, { userId: 'eve', platform: 'web', subscription: subscription.json })).status, 201);
    }
    fcm.script({ token: androidGone, reply: { error: 'UNREGISTERED' } });
    webpush.unsubscribe(browserGone.id);
    const accepted = await call('POST', '/notifications', { v: 1, app: APP.id, to: { users: ['eve'] }, alert: { title: 'Shipped' } });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const { id } = accepted.body as { id: string };

    const shown = (type: string, token: string) => seen.filter((e) => e.data.type === type && e.data.detail?.token === token).map((e) => e.data.detail);
    await waitFor(() => seen.filter((e) => e.data.type === 'device.removed').length === 2 || undefined, { what: 'both refused devices removed, on node A' });
    await waitFor(() => [android, androidGone, browserToken, browserGoneToken].every((t) => shown('fcm.result', t).length + shown('webpush.result', t).length === 1) || undefined, {
      what: 'a result per token on node A',
    });

    const [delivered] = shown('fcm.result', android);
    assert.deepEqual({ ...delivered, messageId: undefined }, { id, token: android, outcome: 'delivered', messageId: undefined });
    assert.equal(fcm.delivered().filter((s) => s.token === android).length, 1);
    assert.match(String(delivered?.messageId), /^projects\/[^/]+\/messages\/\S+$/, 'the FCM message name');
    assert.deepEqual(shown('fcm.result', androidGone), [{ id, token: androidGone, outcome: 'rejected', reason: 'Unregistered', invalidToken: true }]);
    assert.deepEqual(shown('fcm.token_invalid', androidGone), [{ id, token: androidGone, reason: 'Unregistered' }]);

    const [pushed] = shown('webpush.result', browserToken);
    const [received] = webpush.messagesFor(browser.id);
    assert.ok(received, 'the push service received the message');
    // The message URL is shown by its origin only: the whole URL would let a viewer cancel the message.
    assert.deepEqual(pushed, { id, token: browserToken, endpoint: webpush.origin, outcome: 'delivered', messageId: webpush.origin });
    assert.deepEqual(shown('webpush.result', browserGoneToken), [{ id, token: browserGoneToken, endpoint: webpush.origin, outcome: 'rejected', reason: 'Gone', invalidToken: true }]);
    assert.deepEqual(shown('webpush.subscription_invalid', browserGoneToken), [{ id, token: browserGoneToken, reason: 'Gone', endpoint: webpush.origin }]);

    assert.deepEqual(
      seen.filter((e) => e.data.type === 'device.removed').map((e) => e.data.detail).sort((x, y) => String(x?.token).localeCompare(String(y?.token))),
      [
        { token: browserGoneToken, userId: 'eve', reason: 'Gone' },
        { token: androidGone, userId: 'eve', reason: 'Unregistered' },
      ].sort((x, y) => x.token.localeCompare(y.token)),
    );
    assert.deepEqual(seen.filter((e) => e.data.type === 'apns.result'), [], 'no result is labelled APNs');
    const text = JSON.stringify(seen);
    for (const { json } of [browser, browserGone]) {
      for (const secret of [json.keys.p256dh, json.keys.auth, new URL(json.endpoint).pathname]) assert.ok(!text.includes(secret), 'no subscription keys or endpoint path in the feed');
    }
  });
});
