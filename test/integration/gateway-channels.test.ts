import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type Pusher from 'pusher';
import type { PresenceChannel } from 'pusher-js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import {
  RawClient,
  collect,
  connected,
  dataOf,
  gatewayTestConfig,
  metricValue,
  pusherClient,
  serverSdk,
  signedPost,
  subscribe,
  testApps,
} from '../helpers/pusher-clients.js';
import type { PusherClient, RawFrame } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';

const { main } = testApps;

describe('gateway channels: public, private, encrypted, presence, cache', () => {
  let herald: HeraldProcess;
  let sdk: Pusher;
  const closers: Array<() => unknown> = [];

  before(async () => {
    herald = await startHeraldProcess({ config: gatewayTestConfig() });
    sdk = serverSdk(herald.httpPort, main);
  });
  after(async () => {
    for (const close of closers) await close();
    await herald.stop();
  });

  async function rawClient(): Promise<{ client: RawClient; socketId: string }> {
    const connection = await RawClient.connect(herald.httpPort, main.key);
    closers.push(() => connection.client.close());
    return connection;
  }

  function jsClient(identity: Parameters<typeof pusherClient>[2] = {}): PusherClient {
    const client = pusherClient(herald.httpPort, main, identity);
    closers.push(() => client.disconnect());
    return client;
  }

  /** Sends pusher:subscribe and returns the answer: subscription_succeeded or subscription_error. */
  async function rawSubscribe(client: RawClient, channel: string, extra: Record<string, unknown> = {}): Promise<RawFrame> {
    const from = client.mark();
    client.send({ event: 'pusher:subscribe', data: { channel, auth: '', ...extra } });
    return client.next(
      (f) => f.channel === channel && (f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error'),
      { from },
    );
  }

  async function stillOpen(client: RawClient): Promise<void> {
    const from = client.mark();
    client.send({ event: 'pusher:ping', data: {} });
    await client.next((f) => f.event === 'pusher:pong', { from });
  }

  it('confirms a public subscription and relays the published data string byte for byte', async () => {
    const { client } = await rawClient();
    const answer = await rawSubscribe(client, 'news');
    assert.deepEqual(answer, { event: 'pusher_internal:subscription_succeeded', channel: 'news', data: '{}' });
    const data = '{"headline":"Grüße — 👋","spaced": 1 ,"quote":"\\""}';
    const from = client.mark();
    await sdk.trigger('news', 'story', data);
    const frame = await client.next((f) => f.event === 'story', { from });
    assert.deepEqual(frame, { event: 'story', channel: 'news', data });
  });

  it('delivers nothing to non-subscribers, nor after unsubscribe', async () => {
    const a = (await rawClient()).client;
    const b = (await rawClient()).client;
    await rawSubscribe(a, 'only-a');
    await rawSubscribe(a, 'both');
    await rawSubscribe(b, 'both');
    await sdk.trigger('only-a', 'e1', '1');
    await sdk.trigger('both', 'sentinel-1', '1');
    await b.next((f) => f.event === 'sentinel-1');
    await a.next((f) => f.event === 'sentinel-1');
    assert.equal(b.frames.some((f) => f.channel === 'only-a'), false);
    assert.equal(a.frames.some((f) => f.event === 'e1'), true);

    a.send({ event: 'pusher:unsubscribe', data: { channel: 'only-a' } });
    await stillOpen(a);
    await sdk.trigger('only-a', 'e2', '2');
    await sdk.trigger('both', 'sentinel-2', '2');
    await a.next((f) => f.event === 'sentinel-2');
    assert.equal(a.frames.some((f) => f.event === 'e2'), false);
  });

  it('refuses invalid channel names with a BadRequest subscription_error and keeps the socket', async () => {
    const { client } = await rawClient();
    for (const channel of ['has space', 'star*', 'a/b', 'x'.repeat(165)]) {
      const answer = await rawSubscribe(client, channel);
      assert.equal(answer.event, 'pusher:subscription_error', channel);
      assert.deepEqual({ ...(answer.data as object), error: undefined }, { type: 'BadRequest', status: 400, error: undefined });
    }
    assert.equal((await rawSubscribe(client, 'y'.repeat(164))).event, 'pusher_internal:subscription_succeeded');
    assert.equal(client.frames.some((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel !== 'y'.repeat(164)), false);
    await stillOpen(client);
  });

  it('keeps one delivery per event when a socket subscribes twice', async () => {
    const { client } = await rawClient();
    await rawSubscribe(client, 'twice');
    assert.equal((await rawSubscribe(client, 'twice')).event, 'pusher_internal:subscription_succeeded');
    await sdk.trigger('twice', 'once', 'x');
    await sdk.trigger('twice', 'sentinel', 'x');
    await client.next((f) => f.event === 'sentinel');
    assert.equal(client.frames.filter((f) => f.event === 'once').length, 1);
  });

  it('lets pusher-js join a private channel and receive events', async () => {
    const client = jsClient();
    await connected(client);
    const { channel } = await subscribe(client, 'private-orders');
    const got = new Promise((resolve) => channel.bind('shipped', resolve));
    await sdk.trigger('private-orders', 'shipped', { id: 7 });
    assert.deepEqual(await got, { id: 7 });
  });

  it('refuses a private channel with missing, wrong or wrong-key auth, or auth made for another socket', async () => {
    const { client, socketId } = await rawClient();
    const other = await rawClient();
    const good = sdk.authorizeChannel(socketId, 'private-x').auth;
    const signature = good.split(':')[1];
    const cases: Array<[string, Record<string, unknown>]> = [
      ['missing', {}],
      ['wrong signature', { auth: `${main.key}:${'0'.repeat(64)}` }],
      ['wrong key', { auth: `another-key:${signature}` }],
      ['another socket', { auth: sdk.authorizeChannel(other.socketId, 'private-x').auth }],
    ];
    for (const [name, extra] of cases) {
      const answer = await rawSubscribe(client, 'private-x', extra);
      assert.equal(answer.event, 'pusher:subscription_error', name);
      assert.equal((answer.data as { type: string }).type, 'AuthError', name);
      assert.equal((answer.data as { status: number }).status, 401, name);
    }
    await stillOpen(client);
    assert.equal((await rawSubscribe(client, 'private-x', { auth: good })).event, 'pusher_internal:subscription_succeeded');
  });

  it('surfaces the refusal to pusher-js as pusher:subscription_error on the channel', async () => {
    const client = pusherClient(herald.httpPort, { ...main, secret: 'not-the-secret-at-all' });
    closers.push(() => client.disconnect());
    await connected(client);
    await assert.rejects(subscribe(client, 'private-denied'), (err: { detail?: { type?: string; status?: number } }) => {
      assert.equal(err.detail?.type, 'AuthError');
      assert.equal(err.detail?.status, 401);
      return true;
    });
  });

  it('relays end-to-end encrypted events that pusher-js decrypts', async () => {
    const client = jsClient();
    await connected(client);
    const { channel } = await subscribe(client, 'private-encrypted-vault');
    const watcher = await rawClient();
    await rawSubscribe(watcher.client, 'private-encrypted-vault', { auth: sdk.authorizeChannel(watcher.socketId, 'private-encrypted-vault').auth });
    const got = new Promise((resolve) => channel.bind('secret', resolve));
    await sdk.trigger('private-encrypted-vault', 'secret', { pin: '1234', note: 'héllo' });
    assert.deepEqual(await got, { pin: '1234', note: 'héllo' });
    const wire = await watcher.client.next((f) => f.event === 'secret');
    const envelope = JSON.parse(wire.data as string) as { nonce: string; ciphertext: string };
    assert.equal(Buffer.from(envelope.nonce, 'base64').length, 24);
    assert.ok(!String(wire.data).includes('1234'), 'the server only ever sees ciphertext');
  });

  it('refuses one publish to an encrypted channel together with another channel (400)', async () => {
    await assert.rejects(
      signedPost(sdk, '/events', { name: 'e', data: '{}', channels: ['private-encrypted-vault', 'news'] }),
      (err: { status?: number; body?: string }) => {
        assert.equal(err.status, 400);
        assert.match(JSON.parse(err.body ?? '{}').error, /encrypted/);
        return true;
      },
    );
  });

  it('runs presence across three users and four sockets: ids/hash/count, added once, removed with the last socket', async () => {
    const channelName = 'presence-room';
    const alice = jsClient({ presence: { user_id: 'alice', user_info: { name: 'Alice' } } });
    await connected(alice);
    const aliceJoin = await subscribe(alice, channelName);
    const aliceChannel = aliceJoin.channel as PresenceChannel;
    assert.equal(aliceChannel.members.count, 1);
    assert.equal(aliceChannel.members.me.id, 'alice');
    const added = collect<{ id: string; info: unknown }>(aliceChannel, 'pusher:member_added');
    const removed = collect<{ id: string }>(aliceChannel, 'pusher:member_removed');

    const bob = jsClient({ presence: { user_id: 'bob', user_info: { name: 'Bob' } } });
    await connected(bob);
    const bobChannel = (await subscribe(bob, channelName)).channel as PresenceChannel;
    const bobAdded = collect<{ id: string }>(bobChannel, 'pusher:member_added');
    await waitFor(() => added.length === 1, { what: 'member_added for bob' });
    assert.deepEqual(added[0]?.data, { id: 'bob', info: { name: 'Bob' } });
    assert.equal(bobChannel.members.count, 2);

    // Wire shape, seen by a raw socket of a third user.
    const carol = await rawClient();
    const channelData = JSON.stringify({ user_id: 'carol', user_info: { name: 'Carol' } });
    const auth = sdk.authorizeChannel(carol.socketId, channelName, { user_id: 'carol', user_info: { name: 'Carol' } });
    assert.equal(auth.channel_data, channelData);
    const answer = await rawSubscribe(carol.client, channelName, { auth: auth.auth, channel_data: auth.channel_data });
    assert.deepEqual(dataOf(answer), {
      presence: { ids: ['alice', 'bob', 'carol'], hash: { alice: { name: 'Alice' }, bob: { name: 'Bob' }, carol: { name: 'Carol' } }, count: 3 },
    });
    await waitFor(() => added.length === 2 && bobAdded.length === 1, { what: 'member_added for carol' });
    assert.equal(carol.client.frames.some((f) => f.event === 'pusher_internal:member_added'), false, 'the joiner gets none for itself');

    // Bob's second socket: no member_added, count unchanged.
    const bob2 = jsClient({ presence: { user_id: 'bob', user_info: { name: 'Bob' } } });
    await connected(bob2);
    const bob2Join = await subscribe(bob2, channelName);
    assert.equal((bob2Join.channel as PresenceChannel).members.count, 3);
    const subscribers = async () => Number(((await (await sdk.get({ path: `/channels/${channelName}`, params: { info: 'subscription_count,user_count' } })).json()) as { subscription_count: number }).subscription_count);
    await waitFor(async () => (await subscribers()) === 4, { what: 'four sockets in the channel' });
    assert.ok((await metricValue(herald.metricsPort, 'herald_presence_members', { app: main.id })) >= 3);
    assert.ok((await metricValue(herald.metricsPort, 'herald_channels', { app: main.id, type: 'presence' })) >= 1);

    // Closing one of bob's sockets removes nobody.
    bob2.disconnect();
    await waitFor(async () => (await subscribers()) === 3, { what: 'bob2 to leave' });
    // Carol unsubscribing is announced; anything bob2 caused would have come before it.
    carol.client.send({ event: 'pusher:unsubscribe', data: { channel: channelName } });
    await waitFor(() => removed.length === 1, { what: 'member_removed for carol' });
    assert.deepEqual(removed.map((r) => r.data.id), ['carol']);
    assert.equal(added.length, 2);
    assert.equal(aliceChannel.members.count, 2);

    // Bob's last socket leaves: now he is removed.
    bob.disconnect();
    await waitFor(() => removed.length === 2, { what: 'member_removed for bob' });
    assert.deepEqual(removed.map((r) => r.data.id), ['carol', 'bob']);
    assert.equal(aliceChannel.members.count, 1);
  });

  it('refuses tampered channel_data and oversized member data', async () => {
    const { client, socketId } = await rawClient();
    const signed = sdk.authorizeChannel(socketId, 'presence-guarded', { user_id: 'mallory', user_info: {} });
    const tampered = await rawSubscribe(client, 'presence-guarded', { auth: signed.auth, channel_data: JSON.stringify({ user_id: 'admin', user_info: {} }) });
    assert.equal((tampered.data as { type: string }).type, 'AuthError');
    const big = { user_id: 'big', user_info: { blob: 'x'.repeat(1100) } };
    const oversized = await rawSubscribe(client, 'presence-guarded', { ...sdk.authorizeChannel(socketId, 'presence-guarded', big) });
    assert.deepEqual({ ...(oversized.data as object), error: undefined }, { type: 'LimitReached', status: 413, error: undefined });
    await stillOpen(client);
  });

  it('refuses the 101st distinct presence member (default limit) but not another socket of a member', async () => {
    const channelName = 'presence-crowd';
    const members = await Promise.all(Array.from({ length: 101 }, () => rawClient()));
    for (const [index, { client, socketId }] of members.slice(0, 100).entries()) {
      const answer = await rawSubscribe(client, channelName, { ...sdk.authorizeChannel(socketId, channelName, { user_id: `u${index}` }) });
      assert.equal(answer.event, 'pusher_internal:subscription_succeeded', `member ${index}`);
    }
    const last = members[100];
    assert.ok(last);
    const refused = await rawSubscribe(last.client, channelName, { ...sdk.authorizeChannel(last.socketId, channelName, { user_id: 'u100' }) });
    assert.deepEqual({ ...(refused.data as object), error: undefined }, { type: 'LimitReached', status: 403, error: undefined });
    const again = await rawSubscribe(last.client, channelName, { ...sdk.authorizeChannel(last.socketId, channelName, { user_id: 'u5' }) });
    assert.equal(again.event, 'pusher_internal:subscription_succeeded');
    assert.equal((dataOf<{ presence: { count: number } }>(again)).presence.count, 100);
    await Promise.all(members.map((m) => m.client.close()));
  });

  it('answers an empty cache channel with pusher:cache_miss right after subscription_succeeded', async () => {
    const { client } = await rawClient();
    const from = client.mark();
    client.send({ event: 'pusher:subscribe', data: { channel: 'cache-empty' } });
    const success = await client.next((f) => f.channel === 'cache-empty', { from });
    assert.equal(success.event, 'pusher_internal:subscription_succeeded');
    const next = await client.next((f) => f.channel === 'cache-empty', { from: client.frames.indexOf(success) + 1 });
    assert.deepEqual(next, { event: 'pusher:cache_miss', channel: 'cache-empty' });
  });

  it('replays the last published event to a new cache-channel subscriber, first, and forgets it after the TTL', async () => {
    await sdk.trigger('cache-prices', 'price', '{"v":1}');
    await sdk.trigger('cache-prices', 'price', '{"v":2}');
    const { client } = await rawClient();
    const from = client.mark();
    client.send({ event: 'pusher:subscribe', data: { channel: 'cache-prices' } });
    const frames = async () => {
      await client.next((f) => f.event === 'price' || f.event === 'pusher:cache_miss', { from });
      return client.frames.slice(from).filter((f) => f.channel === 'cache-prices');
    };
    assert.deepEqual((await frames()).slice(0, 2).map((f) => [f.event, f.data]), [
      ['pusher_internal:subscription_succeeded', '{}'],
      ['price', '{"v":2}'],
    ]);
    const info = async () => (await (await sdk.get({ path: '/channels/cache-prices', params: { info: 'cache' } })).json()) as { cache: unknown };
    assert.deepEqual({ ...((await info()).cache as object), ttl: undefined }, { event: 'price', data: '{"v":2}', ttl: undefined });
    await waitFor(async () => (await info()).cache === null, { timeoutMs: 10_000, intervalMs: 250, what: 'the cache TTL (3 s) to pass' });
    const late = (await rawClient()).client;
    const lateFrom = late.mark();
    late.send({ event: 'pusher:subscribe', data: { channel: 'cache-prices' } });
    await late.next((f) => f.event === 'pusher:cache_miss', { from: lateFrom });
  });

  it('sends subscription_count to subscribers when the app enables it', async () => {
    const first = jsClient();
    await connected(first);
    let counts: Array<{ data: { subscription_count: number } }> = [];
    await subscribe(first, 'counted', { beforeAnswer: (channel) => (counts = collect(channel, 'pusher:subscription_count')) });
    await waitFor(() => counts.some((c) => c.data.subscription_count === 1), { what: 'a count of 1' });
    const second = (await rawClient()).client;
    await rawSubscribe(second, 'counted');
    await waitFor(() => counts.some((c) => c.data.subscription_count === 2), { what: 'a count of 2' });
    await second.close();
    await waitFor(() => counts.at(-1)?.data.subscription_count === 1, { what: 'the count back to 1' });
  });
});
