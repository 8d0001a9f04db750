import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import {
  RawClient,
  connected,
  dataOf,
  gatewayTestConfig,
  metricValue,
  pusherClient,
  serverSdk,
  subscribe,
  testApps,
} from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';

const { main, disabled, limited, origins } = testApps;

describe('gateway connections (protocol 7 handshake, liveness, limits)', () => {
  let herald: HeraldProcess;
  const url = (path: string) => `ws://127.0.0.1:${herald.httpPort}${path}`;
  const open: RawClient[] = [];
  const raw = (path: string, options = {}) => {
    const client = RawClient.open(url(path), options);
    open.push(client);
    return client;
  };

  before(async () => {
    herald = await startHeraldProcess({ config: gatewayTestConfig() });
  });
  after(async () => {
    await Promise.all(open.map((c) => c.close()));
    await herald.stop();
  });

  it('greets with connection_established: string data, a socket id and the activity timeout', async () => {
    const client = raw(`/app/${main.key}?protocol=7&client=js&version=8.4.0&flash=false`);
    const first = await client.next(() => true);
    assert.equal(first.event, 'pusher:connection_established');
    assert.equal(typeof first.data, 'string');
    const data = dataOf<{ socket_id: string; activity_timeout: number }>(first);
    assert.match(data.socket_id, /^\d+\.\d+$/);
    assert.equal(data.activity_timeout, 60);
  });

  it('gives 1000 concurrent connections 1000 distinct socket ids', async () => {
    const clients = await Promise.all(Array.from({ length: 1000 }, () => RawClient.connect(herald.httpPort, main.key)));
    try {
      assert.equal(new Set(clients.map((c) => c.socketId)).size, 1000);
    } finally {
      await Promise.all(clients.map((c) => c.client.close()));
    }
  });

  for (const [name, path, code] of [
    ['an unknown app key', '/app/no-such-key?protocol=7', 4001],
    ['a disabled app', `/app/${disabled.key}?protocol=7`, 4003],
    ['another path', '/foo', 4005],
    ['a malformed protocol version', `/app/${main.key}?protocol=abc`, 4006],
    ['protocol 3', `/app/${main.key}?protocol=3`, 4007],
  ] as const) {
    it(`refuses ${name} with pusher:error then close ${code}`, async () => {
      const client = raw(path);
      const closed = await client.closed;
      assert.equal(closed.code, code);
      assert.equal(client.frames.length, 1);
      assert.equal(client.frames[0]?.event, 'pusher:error');
      assert.equal((client.frames[0]?.data as { code: number }).code, code);
    });
  }

  it('accepts a connection without a protocol parameter', async () => {
    const client = raw(`/app/${main.key}`);
    assert.equal((await client.next(() => true)).event, 'pusher:connection_established');
  });

  it('leaves pusher-js refused, not reconnecting, on an unknown key', async () => {
    const client = pusherClient(herald.httpPort, { ...main, key: 'no-such-key' });
    try {
      // pusher-js wraps handshake refusals: {type: 'WebSocketError', error: {type: 'PusherError', data: {code}}}.
      const error = await new Promise<{ error?: { data?: { code?: number } } }>((resolve) => client.connection.bind('error', resolve));
      assert.equal(error.error?.data?.code, 4001);
      await waitFor(() => client.connection.state === 'disconnected', { what: 'pusher-js to give up' });
    } finally {
      client.disconnect();
    }
  });

  it('refuses connections beyond the app limit with 4004 and admits again once one closes', async () => {
    const first = await RawClient.connect(herald.httpPort, limited.key);
    const second = await RawClient.connect(herald.httpPort, limited.key);
    const third = raw(`/app/${limited.key}?protocol=7`);
    assert.equal((await third.closed).code, 4004);
    await first.client.close();
    const again = await waitFor(async () => {
      try {
        return await RawClient.connect(herald.httpPort, limited.key);
      } catch {
        return undefined;
      }
    }, { what: 'a free slot after a close' });
    open.push(second.client, again.client);
    assert.ok(await metricValue(herald.metricsPort, 'herald_ws_connections_refused_total', { reason: 'over_quota' }) >= 1);
  });

  it('enforces allowed origins per app with 4009', async () => {
    const good = raw(`/app/${origins.key}?protocol=7`, { origin: 'https://good.example.com' });
    assert.equal((await good.next(() => true)).event, 'pusher:connection_established');
    const wildcard = raw(`/app/${origins.key}?protocol=7`, { origin: 'https://eu.trusted.example' });
    assert.equal((await wildcard.next(() => true)).event, 'pusher:connection_established');
    for (const origin of ['https://evil.example.com', undefined]) {
      const bad = raw(`/app/${origins.key}?protocol=7`, origin ? { origin } : {});
      assert.equal((await bad.closed).code, 4009, String(origin));
    }
  });

  it('answers pusher:ping with pusher:pong', async () => {
    const { client } = await RawClient.connect(herald.httpPort, main.key);
    open.push(client);
    const from = client.mark();
    client.send({ event: 'pusher:ping', data: {} });
    const pong = await client.next((f) => f.event === 'pusher:pong', { from });
    assert.deepEqual(pong.data, {});
  });

  it('keeps serving after all of the above', async () => {
    const client = pusherClient(herald.httpPort, main);
    try {
      await connected(client);
      const { channel } = await subscribe(client, 'after-all');
      const got = new Promise((resolve) => channel.bind('ping', resolve));
      await serverSdk(herald.httpPort, main).trigger('after-all', 'ping', { ok: true });
      assert.deepEqual(await got, { ok: true });
      assert.ok(await metricValue(herald.metricsPort, 'herald_ws_connections_opened_total', { app: main.id }) >= 1000);
    } finally {
      client.disconnect();
    }
  });
});

/** `promise`, or a failure naming `what` after `ms`: a generous bound on a condition the test waits for. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('gateway liveness: a silent client is closed', () => {
  // Short timeouts on a daemon of its own, so the close comes within seconds; the
  // test waits for the close itself, with a bound far above the timeouts.
  let herald: HeraldProcess;
  before(async () => {
    herald = await startHeraldProcess({ config: gatewayTestConfig({ activityTimeoutSeconds: 1, pongTimeoutSeconds: 1 }) });
  });
  after(async () => herald.stop());

  it('pings a silent client (ws ping and pusher:ping) and closes it with 4201 when nothing comes back', async () => {
    const { client } = await RawClient.connect(herald.httpPort, main.key, { autoPong: false });
    let wsPings = 0;
    client.ws.on('ping', () => (wsPings += 1));
    await client.next((f) => f.event === 'pusher:ping', { timeoutMs: 60_000 });
    const closed = await within(client.closed, 60_000, 'the 4201 close');
    assert.equal(closed.code, 4201);
    assert.ok(wsPings >= 1);
  });
});

describe('gateway liveness: a client that answers stays', () => {
  // Pings every second, yet a late answer is never fatal (pong timeout 60 s): a test
  // process paused by a busy machine cannot fail these, and three pings answered on
  // one socket prove the ping loop runs and keeps the socket.
  let herald: HeraldProcess;
  before(async () => {
    herald = await startHeraldProcess({ config: gatewayTestConfig({ activityTimeoutSeconds: 1, pongTimeoutSeconds: 60 }) });
  });
  after(async () => herald.stop());

  it('keeps a client that answers pings open', async () => {
    const { client } = await RawClient.connect(herald.httpPort, main.key, { autoPong: false });
    let answered = 0;
    client.ws.on('message', (data) => {
      if (!String(data).includes('"pusher:ping"')) return;
      client.send({ event: 'pusher:pong', data: {} });
      answered += 1;
    });
    await waitFor(() => answered >= 3 || client.ws.readyState !== client.ws.OPEN, { timeoutMs: 60_000, what: 'three pings answered' });
    assert.equal(client.ws.readyState, client.ws.OPEN, 'a client answering pusher:ping stays open');
    await client.close();
  });

  it('keeps a default pusher-js client connected across three activity timeouts', async () => {
    const client = pusherClient(herald.httpPort, main);
    try {
      const socketId = await connected(client);
      let keepAlives = 0;
      client.connection.bind('message', (message: { event?: string }) => {
        if (message.event === 'pusher:ping' || message.event === 'pusher:pong') keepAlives += 1;
      });
      const onOneSocket = () => client.connection.state === 'connected' && client.connection.socket_id === socketId;
      await waitFor(() => keepAlives >= 3 || !onOneSocket(), { timeoutMs: 60_000, what: 'three keep-alive exchanges' });
      assert.ok(onOneSocket(), 'pusher-js stays on one connection');
    } finally {
      client.disconnect();
    }
  });
});

describe('gateway sign-in timeout', () => {
  let herald: HeraldProcess;
  before(async () => {
    // Long enough for the authorized socket to subscribe on a busy machine; the idle one's close is awaited.
    herald = await startHeraldProcess({ config: gatewayTestConfig({ userAuthenticationTimeoutSeconds: 5 }) });
  });
  after(async () => herald.stop());

  it('closes a socket that neither signs in nor joins a private channel with 4009, and keeps one that did', async () => {
    const idle = await RawClient.connect(herald.httpPort, main.key);
    const authorized = await RawClient.connect(herald.httpPort, main.key);
    const auth = serverSdk(herald.httpPort, main).authorizeChannel(authorized.socketId, 'private-ok');
    authorized.client.send({ event: 'pusher:subscribe', data: { channel: 'private-ok', auth: auth.auth } });
    await authorized.client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
    const closed = await within(idle.client.closed, 60_000, 'the sign-in timeout close');
    assert.equal(closed.code, 4009);
    assert.match(JSON.stringify(idle.client.frames.at(-1)), /not authorized within timeout/);
    assert.equal(authorized.client.ws.readyState, authorized.client.ws.OPEN);
    await authorized.client.close();
  });
});
