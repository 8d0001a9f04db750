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
  subscribe,
  testApps,
} from '../helpers/pusher-clients.js';
import type { ClientIdentity, PusherClient, RawFrame, TestApp } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';

const { main, noClientEvents } = testApps;

describe('gateway users and client events', () => {
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

  async function rawClient(app: TestApp = main): Promise<{ client: RawClient; socketId: string }> {
    const connection = await RawClient.connect(herald.httpPort, app.key);
    closers.push(() => connection.client.close());
    return connection;
  }

  async function jsClient(identity: ClientIdentity = {}): Promise<PusherClient> {
    const client = pusherClient(herald.httpPort, main, identity);
    closers.push(() => client.disconnect());
    await connected(client);
    return client;
  }

  async function signedIn(id: string, info: Record<string, unknown> = {}): Promise<PusherClient> {
    const client = await jsClient({ user: { id, user_info: info } });
    client.signin();
    await waitFor(() => (client.user.user_data as { id?: string } | null)?.id === id, { what: `sign-in of ${id}` });
    return client;
  }

  async function rawSubscribe(client: RawClient, channel: string, extra: Record<string, unknown> = {}): Promise<RawFrame> {
    const from = client.mark();
    client.send({ event: 'pusher:subscribe', data: { channel, auth: '', ...extra } });
    return client.next((f) => f.channel === channel && /subscription_(succeeded|error)/.test(f.event), { from });
  }

  describe('sign-in', () => {
    it('answers a valid pusher:signin with signin_success echoing user_data, and pusher-js signs in', async () => {
      const { client, socketId } = await rawClient();
      const signed = sdk.authenticateUser(socketId, { id: 'ann', user_info: { name: 'Ann' } });
      client.send({ event: 'pusher:signin', data: signed });
      const success = await client.next((f) => f.event === 'pusher:signin_success');
      assert.deepEqual(success.data, { user_data: signed.user_data });
      const js = await signedIn('ann-js');
      assert.equal((js.user.user_data as { id: string }).id, 'ann-js');
    });

    for (const [name, userData, forge] of [
      ['a bad signature', { id: 'eve' }, true],
      ['user_data without an id', { name: 'no id' }, false],
      ['a numeric id', { id: 42 }, false],
    ] as const) {
      it(`refuses sign-in with ${name}: pusher:error 4009, then close 4009`, async () => {
        const { client, socketId } = await rawClient();
        const text = JSON.stringify(userData);
        const auth = forge ? `${main.key}:${'a'.repeat(64)}` : sdk.authenticateUser(socketId, { id: 'x' }).auth.split(':')[0] + ':' + signUser(sdk, socketId, text);
        client.send({ event: 'pusher:signin', data: { auth, user_data: text } });
        const closed = await client.closed;
        assert.equal(closed.code, 4009);
        const error = client.frames.find((f) => f.event === 'pusher:error');
        assert.equal((error?.data as { code: number }).code, 4009);
      });
    }

    it('refuses signing one socket in as a second user', async () => {
      const { client, socketId } = await rawClient();
      client.send({ event: 'pusher:signin', data: sdk.authenticateUser(socketId, { id: 'first' }) });
      await client.next((f) => f.event === 'pusher:signin_success');
      client.send({ event: 'pusher:signin', data: sdk.authenticateUser(socketId, { id: 'second' }) });
      assert.equal((await client.closed).code, 4009);
    });

    it('opens #server-to-user-<own id> only to that signed-in user', async () => {
      const { client, socketId } = await rawClient();
      assert.equal((await rawSubscribe(client, '#server-to-user-zed')).event, 'pusher:subscription_error', 'before sign-in');
      client.send({ event: 'pusher:signin', data: sdk.authenticateUser(socketId, { id: 'zed' }) });
      await client.next((f) => f.event === 'pusher:signin_success');
      assert.equal((await rawSubscribe(client, '#server-to-user-zed')).event, 'pusher_internal:subscription_succeeded');
      const other = await rawSubscribe(client, '#server-to-user-someone-else');
      assert.equal(other.event, 'pusher:subscription_error');
      assert.equal((other.data as { status: number }).status, 401);
    });

    it('delivers sdk.sendToUser to every socket of that user and to no one else', async () => {
      const [u1a, u1b, u2] = [await signedIn('u1'), await signedIn('u1'), await signedIn('u2')];
      const received = new Map<PusherClient, unknown[]>([[u1a, []], [u1b, []], [u2, []]]);
      for (const [client, list] of received) client.user.bind('greet', (data: unknown) => list.push(data));
      // pusher-js subscribes #server-to-user-<id> right after sign-in, so send until every socket has joined.
      await waitFor(async () => {
        await sdk.sendToUser('u1', 'greet', { hi: 1 });
        await sdk.sendToUser('u2', 'greet', { hi: 2 });
        return (received.get(u1a)?.length ?? 0) > 0 && (received.get(u1b)?.length ?? 0) > 0 && (received.get(u2)?.length ?? 0) > 0;
      }, { intervalMs: 100, what: 'every socket to receive its greeting' });
      for (const client of [u1a, u1b]) assert.ok(received.get(client)?.every((d) => JSON.stringify(d) === '{"hi":1}'));
      assert.ok(received.get(u2)?.every((d) => JSON.stringify(d) === '{"hi":2}'));
    });

    it('terminates only the signed-in sockets of a user', async () => {
      const [t1, t2, other] = [await signedIn('term'), await signedIn('term'), await signedIn('stays')];
      const raw = await rawClient();
      raw.client.send({ event: 'pusher:signin', data: sdk.authenticateUser(raw.socketId, { id: 'term' }) });
      await raw.client.next((f) => f.event === 'pusher:signin_success');
      const presenceOnly = await rawClient();
      await rawSubscribe(presenceOnly.client, 'presence-term', { ...sdk.authorizeChannel(presenceOnly.socketId, 'presence-term', { user_id: 'term' }) });

      const res = await sdk.terminateUserConnections('term');
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {});
      assert.equal((await raw.client.closed).code, 4009);
      await waitFor(() => t1.connection.state === 'disconnected' && t2.connection.state === 'disconnected', { what: 'both pusher-js sockets closed' });
      assert.equal(other.connection.state, 'connected');
      assert.equal(presenceOnly.client.ws.readyState, presenceOnly.client.ws.OPEN, 'a presence-only identity is not a sign-in');
    });

    it('lets a signed-in socket join presence without channel_data, as that user', async () => {
      const client = await jsClient({ user: { id: 'signed', user_info: { role: 'admin' } } });
      client.signin();
      const { channel } = await subscribe(client, 'presence-signed');
      const members = (channel as PresenceChannel).members;
      assert.equal(members.me.id, 'signed');
      assert.deepEqual(members.get('signed')?.info, { role: 'admin' });
    });
  });

  describe('client events', () => {
    it('relays client-* on a private channel to the others, never back to the sender', async () => {
      const [a, b, c] = [await jsClient(), await jsClient(), await jsClient()];
      const channels = await Promise.all([a, b, c].map(async (client) => (await subscribe(client, 'private-chat')).channel));
      const [onA, onB, onC] = channels.map((channel) => collect(channel, 'client-typing'));
      const sentinelOnA = collect(channels[0]!, 'client-sentinel');
      assert.equal(channels[0]?.trigger('client-typing', { who: 'a' }), true);
      await waitFor(() => onB?.length === 1 && onC?.length === 1, { what: 'b and c to get the client event' });
      assert.deepEqual(onB?.[0]?.data, { who: 'a' });
      channels[1]?.trigger('client-sentinel', {});
      await waitFor(() => sentinelOnA.length === 1, { what: 'the sentinel on a' });
      assert.equal(onA?.length, 0);
    });

    it('adds the sender user_id on presence channels', async () => {
      const a = await jsClient({ presence: { user_id: 'speaker' } });
      const b = await jsClient({ presence: { user_id: 'listener' } });
      const channelA = (await subscribe(a, 'presence-talk')).channel;
      const channelB = (await subscribe(b, 'presence-talk')).channel;
      const heard = collect(channelB, 'client-say');
      channelA.trigger('client-say', { text: 'hi' });
      await waitFor(() => heard.length === 1, { what: 'the client event' });
      assert.deepEqual(heard[0], { data: { text: 'hi' }, metadata: { user_id: 'speaker' } });
    });

    async function pair(channel: string, app: TestApp = main): Promise<[RawClient, RawClient]> {
      const [sender, receiver] = [await rawClient(app), await rawClient(app)];
      const appSdk = serverSdk(herald.httpPort, app);
      for (const { client, socketId } of [sender, receiver]) {
        const extra = channel.startsWith('private-') ? { auth: appSdk.authorizeChannel(socketId, channel).auth } : {};
        assert.equal((await rawSubscribe(client, channel, extra)).event, 'pusher_internal:subscription_succeeded');
      }
      return [sender.client, receiver.client];
    }

    /** Sends `frame`, expects a pusher:error back, and checks the receiver got nothing before a server sentinel. */
    async function refused(sender: RawClient, receiver: RawClient, channel: string, frame: object, app: TestApp = main): Promise<RawFrame> {
      const from = sender.mark();
      sender.send(frame);
      const error = await sender.next((f) => f.event === 'pusher:error', { from });
      await serverSdk(herald.httpPort, app).trigger(channel, 'sentinel', '{}');
      await receiver.next((f) => f.event === 'sentinel');
      assert.equal(receiver.frames.some((f) => f.event.startsWith('client-') || f.event === 'not-client'), false);
      return error;
    }

    it('refuses client events when the app disables them', async () => {
      const [sender, receiver] = await pair('private-quiet', noClientEvents);
      const error = await refused(sender, receiver, 'private-quiet', { event: 'client-x', channel: 'private-quiet', data: {} }, noClientEvents);
      assert.match((error.data as { message: string }).message, /not enabled/);
    });

    it('refuses client events on public channels', async () => {
      const [sender, receiver] = await pair('public-room');
      await refused(sender, receiver, 'public-room', { event: 'client-x', channel: 'public-room', data: {} });
    });

    it('never broadcasts events without the client- prefix', async () => {
      const [sender, receiver] = await pair('private-prefix');
      await refused(sender, receiver, 'private-prefix', { event: 'not-client', channel: 'private-prefix', data: {} });
    });

    it('refuses client events on a channel the sender has not joined', async () => {
      const [, receiver] = await pair('private-members-only');
      const outsider = (await rawClient()).client;
      await refused(outsider, receiver, 'private-members-only', { event: 'client-x', channel: 'private-members-only', data: {} });
    });

    it('refuses client event data over the size limit', async () => {
      const [sender, receiver] = await pair('private-big');
      const error = await refused(sender, receiver, 'private-big', { event: 'client-x', channel: 'private-big', data: { blob: 'x'.repeat(11_000) } });
      assert.match((error.data as { message: string }).message, /larger than 10240 bytes/);
    });

    it('answers the 11th client event within a second with pusher:error 4301 and keeps the socket open', async () => {
      const [sender, receiver] = await pair('private-burst');
      const from = sender.mark();
      for (let i = 0; i < 11; i += 1) sender.send({ event: 'client-burst', channel: 'private-burst', data: { i } });
      const error = await sender.next((f) => f.event === 'pusher:error', { from });
      assert.equal((error.data as { code: number }).code, 4301);
      await serverSdk(herald.httpPort, main).trigger('private-burst', 'sentinel', '{}');
      await receiver.next((f) => f.event === 'sentinel');
      assert.deepEqual(receiver.frames.filter((f) => f.event === 'client-burst').map((f) => (f.data as { i: number }).i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const pongFrom = sender.mark();
      sender.send({ event: 'pusher:ping', data: {} });
      await sender.next((f) => f.event === 'pusher:pong', { from: pongFrom });
      assert.ok((await metricValue(herald.metricsPort, 'herald_client_events_rejected_total', { reason: 'rate_limited' })) >= 1);
    });

    it('relays client event data as sent: objects stay objects, strings stay strings', async () => {
      const [sender, receiver] = await pair('private-shapes');
      sender.send({ event: 'client-object', channel: 'private-shapes', data: { n: 1 } });
      sender.send({ event: 'client-string', channel: 'private-shapes', data: '{"n":2}' });
      const asString = await receiver.next((f) => f.event === 'client-string');
      const asObject = receiver.frames.find((f) => f.event === 'client-object');
      assert.deepEqual(asObject?.data, { n: 1 });
      assert.equal(asString.data, '{"n":2}');
      assert.deepEqual(dataOf(asString), { n: 2 });
    });
  });
});

/** Signs arbitrary user_data text, which the SDK (validating its input) refuses to do. */
function signUser(sdk: Pusher, socketId: string, userData: string): string {
  const token = (sdk as unknown as { config: { token: { sign(text: string): string } } }).config.token;
  return token.sign(`${socketId}::user::${userData}`);
}
