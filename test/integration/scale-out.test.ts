import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type Pusher from 'pusher';
import type { Channel, PresenceChannel } from 'pusher-js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { RawClient, collect, connected, holdsFor, metricValue, pusherClient, serverSdk, subscribe } from '../helpers/pusher-clients.js';
import type { ClientIdentity, PusherClient } from '../helpers/pusher-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';
import { acceptedEvents, startWebhookReceiver } from './webhooks-receiver.js';
import type { WebhookReceiver } from './webhooks-receiver.js';

const app = { id: 'scale-app', key: 'scale-key', secret: 'scale-secret-0001' };
/** Small, so a killed node is reaped within seconds (the default is 20). */
const NODE_TIMEOUT_SECONDS = 3;
/** The bound a silent node's sockets are removed within: the timeout, a sweep interval, and slack for a loaded CI machine. */
const REAP_BOUND_MS = NODE_TIMEOUT_SECONDS * 1000 + 10_000;

describe('scale-out: three Herald processes on one Redis act as one', () => {
  let redis: TestRedis;
  let hooks: WebhookReceiver;
  let credentials: TestCredentials;
  let apns: ApnsMock;
  const nodes: Record<string, HeraldProcess> = {};
  const clients: PusherClient[] = [];
  const raws: RawClient[] = [];
  /** A presence subscriber on C that outlives the tests it is made in. */
  let watcher: Channel;
  /** u4, connected to node D. */
  let late: PusherClient;

  function startNode(): Promise<HeraldProcess> {
    return startHeraldProcess({
      config: {
        redis: { url: redis.url },
        gateway: { nodeTimeoutSeconds: NODE_TIMEOUT_SECONDS },
        webhooks: { batchMs: 20, backoffBaseMs: 100, backoffMaxMs: 500 },
        // Jobs held by a worker that lost Redis go back to the queue within seconds.
        queue: { chunkSize: 25, lockDurationMs: 2_000 },
        apps: [
          {
            ...app,
            enableClientMessages: true,
            apns: {
              topic: 'com.example.app',
              cert: credentials.clientCertPath,
              key: credentials.clientKeyPath,
              endpoint: { host: apns.host, port: apns.port, ca: credentials.caCertPath },
            },
            webhooks: [{ url: hooks.url, events: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'] }],
          },
        ],
      },
    });
  }

  const sdk = (node: string): Pusher => serverSdk(nodes[node]!.httpPort, app);

  async function client(node: string, identity: ClientIdentity = {}): Promise<PusherClient> {
    const c = pusherClient(nodes[node]!.httpPort, app, identity);
    clients.push(c);
    await connected(c);
    return c;
  }

  async function query<T>(node: string, path: string, params: Record<string, string> = {}): Promise<T> {
    const response = await sdk(node).get({ path, params });
    assert.equal(response.status, 200, `${node} ${path}`);
    return (await response.json()) as T;
  }

  const hooksOf = (name: string, channel: string): Array<Record<string, unknown>> =>
    acceptedEvents(hooks).filter((e) => e.name === name && e.channel === channel);

  before(async () => {
    redis = await startRedis({ persist: true });
    hooks = await startWebhookReceiver();
    credentials = await testCredentials();
    // Latency keeps notifications in flight long enough for Redis to die under them.
    apns = await ApnsMock.start({ credentials, auth: 'certificate', latencyMs: 20 });
    [nodes.A, nodes.B, nodes.C] = await Promise.all([startNode(), startNode(), startNode()]);
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    for (const raw of raws) await raw.close();
    await Promise.all(Object.values(nodes).map((node) => node.stop('SIGTERM')));
    await hooks?.close();
    await apns?.close();
    await redis?.stop();
  });

  it('delivers events published through node A to subscribers on A, B and C exactly once, in order, except the excluded socket', async () => {
    const subscribers = await Promise.all(['A', 'B', 'C'].map((node) => client(node)));
    const received = [];
    for (const subscriber of subscribers) {
      const { channel } = await subscribe(subscriber, 'orders');
      received.push(collect<{ n: number }>(channel, 'placed'));
    }
    for (let n = 0; n < 20; n += 1) await sdk('A').trigger('orders', 'placed', { n });
    // Excluding B's socket: A and C get it, B must not.
    await sdk('A').trigger('orders', 'placed', { n: 20 }, { socket_id: subscribers[1]!.connection.socket_id });
    await sdk('A').trigger('orders', 'placed', { n: 21 });
    for (const [i, events] of received.entries()) {
      await waitFor(() => events.some((e) => e.data.n === 21), { what: `the last event on node ${'ABC'[i]}` });
      const expected = Array.from({ length: 22 }, (_, n) => n).filter((n) => !(i === 1 && n === 20));
      assert.deepEqual(events.map((e) => e.data.n), expected, `node ${'ABC'[i]}`);
    }
  });

  it('keeps one presence view: members and counts agree on every node, member_added once per user', async () => {
    const observer = await client('A', { presence: { user_id: 'u1', user_info: { name: 'Ann' } } });
    const { channel } = await subscribe(observer, 'presence-room');
    const added = collect<{ id: string }>(channel, 'pusher:member_added');
    await subscribe(await client('B', { presence: { user_id: 'u2', user_info: { name: 'Bob' } } }), 'presence-room');
    await subscribe(await client('B', { presence: { user_id: 'u1', user_info: { name: 'Ann' } } }), 'presence-room');
    await subscribe(await client('C', { presence: { user_id: 'u3', user_info: { name: 'Cy' } } }), 'presence-room');
    await waitFor(() => (channel as PresenceChannel).members.count === 3, { what: 'three members seen on A' });
    assert.deepEqual(added.map((e) => e.data.id).sort(), ['u2', 'u3'], 'u1 joining again from B is no new member');
    for (const node of ['A', 'B', 'C']) {
      const users = await query<{ users: Array<{ id: string }> }>(node, '/channels/presence-room/users');
      assert.deepEqual(users.users.map((u) => u.id).sort(), ['u1', 'u2', 'u3'], `users on ${node}`);
      const info = await query<Record<string, unknown>>(node, '/channels/presence-room', { info: 'user_count,subscription_count' });
      assert.deepEqual(info, { occupied: true, user_count: 3, subscription_count: 4 }, `channel info on ${node}`);
      const list = await query<{ channels: Record<string, unknown> }>(node, '/channels', { filter_by_prefix: 'presence-', info: 'user_count' });
      assert.deepEqual(list.channels, { 'presence-room': { user_count: 3 } }, `channel list on ${node}`);
    }
    await waitFor(() => hooksOf('member_added', 'presence-room').length >= 3, { what: 'member_added webhooks' });
    assert.deepEqual(hooksOf('member_added', 'presence-room').map((e) => e.user_id).sort(), ['u1', 'u2', 'u3']);
    assert.equal(hooksOf('channel_occupied', 'presence-room').length, 1, 'one channel_occupied for the cluster');
  });

  it('relays a client event from B to the other nodes, not back to the sender', async () => {
    const [onA, onB, onC] = await Promise.all(['A', 'B', 'C'].map((node) => client(node)));
    const seen: Array<Array<{ data: { text: string } }>> = [];
    for (const c of [onA!, onB!, onC!]) seen.push(collect<{ text: string }>((await subscribe(c, 'private-chat')).channel, 'client-hello'));
    assert.equal(onB!.channel('private-chat').trigger('client-hello', { text: 'from B' }), true);
    await waitFor(() => seen[2]!.length === 1 && seen[0]!.length === 1, { what: 'the client event on A and C' });
    assert.deepEqual(seen[2]!.map((e) => e.data.text), ['from B']);
    await onC!.channel('private-chat').trigger('client-hello', { text: 'from C' });
    await waitFor(() => seen[1]!.length === 1, { what: "C's answer on B" });
    assert.deepEqual([seen[0]!.length, seen[1]!.length, seen[2]!.length], [2, 1, 1], 'nobody hears an echo');
  });

  it("closes a user's sockets on every node when terminate_connections is asked of node C", async () => {
    const signed = [];
    for (const node of ['A', 'B']) {
      const { client: raw, socketId } = await RawClient.connect(nodes[node]!.httpPort, app.key);
      raws.push(raw);
      raw.send({ event: 'pusher:signin', data: sdk(node).authenticateUser(socketId, { id: 'leaver' }) });
      await raw.next((f) => f.event === 'pusher:signin_success');
      signed.push(raw);
    }
    const { client: bystander, socketId } = await RawClient.connect(nodes.A!.httpPort, app.key);
    raws.push(bystander);
    bystander.send({ event: 'pusher:signin', data: sdk('A').authenticateUser(socketId, { id: 'stayer' }) });
    await bystander.next((f) => f.event === 'pusher:signin_success');
    await sdk('C').terminateUserConnections('leaver');
    for (const raw of signed) assert.equal((await raw.closed).code, 4009);
    assert.equal(bystander.ws.readyState, bystander.ws.OPEN, 'another user stays connected');
  });

  it("removes a SIGKILLed node's members within the bound, announcing member_removed and channel_vacated once", async () => {
    ({ channel: watcher } = await subscribe(await client('C', { presence: { user_id: 'watcher' } }), 'presence-room'));
    const removed = collect<{ id: string }>(watcher, 'pusher:member_removed');
    await subscribe(await client('B'), 'only-on-b');
    await waitFor(() => hooksOf('channel_occupied', 'only-on-b').length === 1, { what: 'channel_occupied of only-on-b' });

    await nodes.B!.stop('SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => removed.some((e) => e.data.id === 'u2'), { what: 'member_removed for u2', timeoutMs: REAP_BOUND_MS });
    const tookMs = Date.now() - killedAt;
    await waitFor(() => hooksOf('member_removed', 'presence-room').length >= 1 && hooksOf('channel_vacated', 'only-on-b').length >= 1, {
      what: 'member_removed and channel_vacated webhooks',
    });
    // Both survivors sweep every 750 ms; give them several sweeps to prove nobody reaps twice.
    await holdsFor(
      NODE_TIMEOUT_SECONDS * 1000,
      () => removed.length === 1 && hooksOf('member_removed', 'presence-room').length === 1 && hooksOf('channel_vacated', 'only-on-b').length === 1,
      'one member_removed (u2) and one channel_vacated, cluster-wide',
    );
    assert.deepEqual(removed.map((e) => e.data.id), ['u2'], 'u1 still has a socket on A');
    assert.equal(hooksOf('member_removed', 'presence-room')[0]?.user_id, 'u2');
    assert.ok(tookMs < REAP_BOUND_MS, `reaped after ${tookMs} ms`);
    for (const node of ['A', 'C']) {
      const users = await query<{ users: Array<{ id: string }> }>(node, '/channels/presence-room/users');
      assert.deepEqual(users.users.map((u) => u.id).sort(), ['u1', 'u3', 'watcher'], `users on ${node}`);
      const info = await query<Record<string, unknown>>(node, '/channels/presence-room', { info: 'subscription_count' });
      assert.equal(info.subscription_count, 3, `sockets on ${node}`);
      const list = await query<{ channels: Record<string, unknown> }>(node, '/channels');
      assert.equal('only-on-b' in list.channels, false, `only-on-b is vacated on ${node}`);
    }
    delete nodes.B;
  });

  it('lets a node that joins later see and extend the shared state', async () => {
    nodes.D = await startNode();
    const users = await query<{ users: Array<{ id: string }> }>('D', '/channels/presence-room/users');
    assert.deepEqual(users.users.map((u) => u.id).sort(), ['u1', 'u3', 'watcher']);
    late = await client('D', { presence: { user_id: 'u4' } });
    const { data } = await subscribe(late, 'presence-room');
    assert.equal((data as { count: number }).count, 4);
    const info = await query<Record<string, unknown>>('A', '/channels/presence-room', { info: 'user_count' });
    assert.equal(info.user_count, 4);
  });

  it('keeps serving local clients while Redis is down, reports not-ready, and recovers with the same state when it returns', async () => {
    const live = ['A', 'C', 'D'];
    const [sender, listener] = [await client('A'), await client('A')];
    await subscribe(sender!, 'private-local');
    const heard = collect<{ n: number }>((await subscribe(listener!, 'private-local')).channel, 'client-ping');
    const farAway = await client('D');
    const far = collect<{ id: string }>((await subscribe(farAway, 'after-outage')).channel, 'news');
    const removedBefore = hooksOf('member_removed', 'presence-room').length;
    const notifications = new Map<string, string[]>();
    for (let i = 0; i < 24; i += 1) {
      const tokens = Array.from({ length: 40 }, () => randomBytes(32).toString('hex'));
      const node = live[i % live.length]!;
      const notification = { v: 1, app: app.id, apns: { tokens, payload: { aps: { alert: `n${i}` } } } };
      // The SDK serializes `body` itself; its typings say string.
      const response = await sdk(node).post({ path: '/notifications', body: notification as unknown as string });
      assert.equal(response.status, 202, `enqueue through ${node}`);
      notifications.set(((await response.json()) as { id: string }).id, tokens);
    }
    const allTokens = [...notifications.values()].flat();
    await waitFor(() => apns.requests.length > 0, { what: 'delivery under way' });
    assert.ok(apns.accepted().length < allTokens.length, 'Redis goes away with work still queued');

    await redis.kill();
    for (const node of live) {
      await waitFor(async () => {
        const response = await fetch(`${nodes[node]!.baseUrl}/ready`);
        const body = (await response.json()) as { checks: Record<string, { ok: boolean }> };
        return response.status === 503 && body.checks.redis?.ok === false;
      }, { what: `${node} not ready while Redis is down` });
    }
    assert.equal(await metricValue(nodes.A!.metricsPort, 'herald_redis_connected'), 0);
    sender!.channel('private-local').trigger('client-ping', { n: 1 });
    await waitFor(() => heard.length === 1, { what: 'a client event between two sockets of node A, Redis down' });

    await redis.restart();
    for (const node of live) {
      await waitFor(async () => (await fetch(`${nodes[node]!.baseUrl}/ready`)).status === 200, { what: `${node} ready again`, timeoutMs: 15_000 });
    }
    assert.equal(await metricValue(nodes.A!.metricsPort, 'herald_redis_connected'), 1);
    const id = randomUUID();
    await waitFor(async () => {
      await sdk('A').trigger('after-outage', 'news', { id });
      return far.some((e) => e.data.id === id);
    }, { what: 'an event from A reaching D after the outage', intervalMs: 200 });
    for (const node of live) {
      const users = await query<{ users: Array<{ id: string }> }>(node, '/channels/presence-room/users');
      assert.deepEqual(users.users.map((u) => u.id).sort(), ['u1', 'u3', 'u4', 'watcher'], `members on ${node} after the outage`);
    }
    assert.equal(hooksOf('member_removed', 'presence-room').length, removedBefore, 'nobody was taken for dead during the outage');

    for (const [id, tokens] of notifications) {
      const status = await waitFor(async () => {
        const response = await sdk('A').get({ path: `/notifications/${id}` });
        const body = (await response.json()) as { state: string; apns: { sent: number } };
        return body.state === 'completed' ? body : undefined;
      }, { what: `notification ${id} completed after the outage`, timeoutMs: 60_000, intervalMs: 200 });
      assert.equal(status.apns.sent, tokens.length, `every token of ${id} sent`);
    }
    const delivered = new Set(apns.accepted().map((r) => r.token));
    assert.deepEqual(allTokens.filter((t) => !delivered.has(t)), [], 'no token lost');
  });

  it('takes a frozen node (SIGSTOP) for dead, and lets it restore its members when it wakes (SIGCONT)', async () => {
    const removed = collect<{ id: string }>(watcher, 'pusher:member_removed');
    const added = collect<{ id: string }>(watcher, 'pusher:member_added');
    const removedHooks = hooksOf('member_removed', 'presence-room').length;
    nodes.D!.child.kill('SIGSTOP');
    try {
      await waitFor(() => removed.some((e) => e.data.id === 'u4'), { what: 'member_removed for u4 of the frozen node', timeoutMs: REAP_BOUND_MS });
    } finally {
      nodes.D!.child.kill('SIGCONT');
    }
    await waitFor(() => added.some((e) => e.data.id === 'u4'), { what: 'u4 announced again once its node wakes', timeoutMs: REAP_BOUND_MS });
    await waitFor(() => hooksOf('member_removed', 'presence-room').length === removedHooks + 1, { what: 'one member_removed webhook' });
    for (const node of ['A', 'C', 'D']) {
      const users = await query<{ users: Array<{ id: string }> }>(node, '/channels/presence-room/users');
      assert.deepEqual(users.users.map((u) => u.id).sort(), ['u1', 'u3', 'u4', 'watcher'], `members on ${node} after the wake-up`);
    }
    const news = collect<{ id: string }>((await subscribe(late, 'after-wake')).channel, 'news');
    const id = randomUUID();
    await sdk('C').trigger('after-wake', 'news', { id });
    await waitFor(() => news.some((e) => e.data.id === id), { what: 'an event from C reaching the woken node' });
    assert.deepEqual([removed.length, added.length], [1, 1]);
  });
});
