import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type Pusher from 'pusher';
import { signQuery } from '../../src/lib/pusher-signing.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { RawClient, gatewayTestConfig, serverSdk, signedPost, testApps } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';

const { main } = testApps;

/** Asserts a rejected SDK call carried `status` and a JSON `{"error": ...}` body. */
function failsWith(status: number, pattern?: RegExp) {
  return (err: { status?: number; body?: string }) => {
    assert.equal(err.status, status);
    const body = JSON.parse(err.body ?? 'null') as { error?: unknown };
    assert.equal(typeof body.error, 'string');
    if (pattern) assert.match(body.error as string, pattern);
    return true;
  };
}

describe('gateway HTTP API', () => {
  let herald: HeraldProcess;
  let sdk: Pusher;
  const clients: RawClient[] = [];

  before(async () => {
    herald = await startHeraldProcess({ config: gatewayTestConfig() });
    sdk = serverSdk(herald.httpPort, main);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await herald.stop();
  });

  async function subscriber(channel: string, presenceUser?: string): Promise<{ client: RawClient; socketId: string }> {
    const connection = await RawClient.connect(herald.httpPort, main.key);
    clients.push(connection.client);
    const auth = channel.startsWith('presence-')
      ? sdk.authorizeChannel(connection.socketId, channel, { user_id: presenceUser ?? 'u' })
      : channel.startsWith('private-')
        ? sdk.authorizeChannel(connection.socketId, channel)
        : { auth: '' };
    connection.client.send({ event: 'pusher:subscribe', data: { channel, ...auth } });
    await connection.client.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === channel);
    return connection;
  }

  async function rawRequest(method: string, path: string, body: string | undefined, now?: number, mangle?: (q: Record<string, string>) => void): Promise<Response> {
    const query = signQuery(main, method, path, body, {}, now);
    mangle?.(query);
    return fetch(`${herald.baseUrl}${path}?${new URLSearchParams(query)}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      ...(body ? { body } : {}),
    });
  }

  it('answers a correctly signed POST /events with 200 and {}', async () => {
    const res = await sdk.trigger('api-news', 'e', { a: 1 });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
  });

  it('refuses bad signatures, unknown keys, stale timestamps and a body_md5 that does not match (401)', async () => {
    const path = `/apps/${main.id}/events`;
    const body = JSON.stringify({ name: 'e', channel: 'c', data: '{}' });
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await rawRequest('POST', path, body, now, (q) => (q.auth_signature = 'f'.repeat(64)))).status, 401);
    assert.equal((await rawRequest('POST', path, body, now, (q) => (q.auth_key = 'unknown'))).status, 401);
    // The exact 600 s edge is a unit test; here a margin keeps a slow run from crossing a second boundary.
    assert.equal((await rawRequest('POST', path, body, Math.floor(Date.now() / 1000) - 605)).status, 401);
    assert.equal((await rawRequest('POST', path, body, Math.floor(Date.now() / 1000) - 590)).status, 200);
    const tampered = JSON.stringify({ name: 'e', channel: 'other', data: '{}' });
    const query = signQuery(main, 'POST', path, body, {}, now);
    const res = await fetch(`${herald.baseUrl}${path}?${new URLSearchParams(query)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: tampered });
    assert.equal(res.status, 401);
  });

  it('refuses a timestamp more than 60 s in the future (401) and accepts one 50 s ahead', async () => {
    const path = `/apps/${main.id}/events`;
    const body = JSON.stringify({ name: 'e', channel: 'c', data: '{}' });
    const now = Math.floor(Date.now() / 1000);
    const ahead = await rawRequest('POST', path, body, now + 120);
    assert.equal(ahead.status, 401);
    assert.match(((await ahead.json()) as { error: string }).error, /in the future/);
    assert.equal((await rawRequest('POST', path, body, now + 50)).status, 200);
  });

  it('a signed filter_by_prefix re-sent as FILTER_BY_PREFIX is read as signed: private channels stay unlisted', async () => {
    await subscriber('private-case-secret');
    await subscriber('presence-case-room', 'u1');
    const path = `/apps/${main.id}/channels`;
    const query = signQuery(main, 'GET', path, undefined, { filter_by_prefix: 'presence-' });
    const renamed = Object.entries(query).map(([name, value]): [string, string] => [name === 'filter_by_prefix' ? 'FILTER_BY_PREFIX' : name, value]);
    const res = await fetch(`${herald.baseUrl}${path}?${new URLSearchParams(renamed)}`);
    assert.equal(res.status, 200);
    const names = Object.keys(((await res.json()) as { channels: Record<string, object> }).channels);
    assert.ok(names.includes('presence-case-room'), names.join(','));
    assert.deepEqual(names.filter((name) => !name.startsWith('presence-')), []);
  });

  it('refuses a repeated query parameter, in any case, with 400 naming it (info=a&info=b signs like info=a,b)', async () => {
    const path = `/apps/${main.id}/channels`;
    const query = signQuery(main, 'GET', path, undefined, { filter_by_prefix: 'presence-', info: 'user_count,subscription_count' });
    const send = async (pairs: Array<[string, string]>) => {
      const res = await fetch(`${herald.baseUrl}${path}?${new URLSearchParams(pairs)}`);
      return { status: res.status, error: ((await res.json()) as { error?: string }).error ?? '' };
    };
    const others = Object.entries(query).filter(([name]) => name !== 'info');
    const repeated = await send([...others, ['info', 'user_count'], ['info', 'subscription_count']]);
    assert.deepEqual(repeated, { status: 400, error: "Query parameter 'info' is given more than once" });
    const cased = await send([...others, ['info', 'user_count'], ['INFO', 'subscription_count']]);
    assert.deepEqual(cased, { status: 400, error: "Query parameters 'info' and 'INFO' differ only in case" });
  });

  it('answers an unknown app id with 404', async () => {
    const other = serverSdk(herald.httpPort, { ...main, id: 'no-such-app' });
    await assert.rejects(other.trigger('c', 'e', {}), failsWith(404));
  });

  it("enforces Pusher's publish limits: 100 channels, 10 batch events, name and data required, 10 KB data → 413", async () => {
    const channels = (n: number) => Array.from({ length: n }, (_, i) => `bulk-${i}`);
    assert.equal((await signedPost(sdk, '/events', { name: 'e', data: '{}', channels: channels(100) })).status, 200);
    await assert.rejects(signedPost(sdk, '/events', { name: 'e', data: '{}', channels: channels(101) }), failsWith(400, /at most 100/));
    const batch = (n: number) => Array.from({ length: n }, (_, i) => ({ name: 'e', channel: `b-${i}`, data: '{}' }));
    assert.equal((await signedPost(sdk, '/batch_events', { batch: batch(10) })).status, 200);
    await assert.rejects(signedPost(sdk, '/batch_events', { batch: batch(11) }), failsWith(400, /at most 10/));
    await assert.rejects(signedPost(sdk, '/events', { data: '{}', channels: ['c'] }), failsWith(400, /name/));
    await assert.rejects(signedPost(sdk, '/events', { name: 'e', channels: ['c'] }), failsWith(400, /data/));
    await assert.rejects(signedPost(sdk, '/events', { name: 'e', data: { object: true }, channels: ['c'] }), failsWith(400, /string/));
    await assert.rejects(signedPost(sdk, '/events', { name: 'x'.repeat(201), data: '{}', channels: ['c'] }), failsWith(400, /200/));
    await assert.rejects(signedPost(sdk, '/events', { name: 'e', data: '{}' }), failsWith(400, /channels or channel/));
    await assert.rejects(signedPost(sdk, '/events', { name: 'e', data: '{}', channels: ['bad channel'] }), failsWith(400));
    assert.equal((await sdk.trigger('c', 'e', 'x'.repeat(10_240))).status, 200);
    await assert.rejects(sdk.trigger('c', 'e', 'x'.repeat(10_241)), failsWith(413));
    await assert.rejects(signedPost(sdk, '/batch_events', { batch: [...batch(2), { name: 'e', channel: 'c', data: 'x'.repeat(10_241) }] }), failsWith(413, /batch\[2\]/));
    await assert.rejects(signedPost(sdk, '/batch_events', { batch: 'nope' }), failsWith(400));
  });

  it('excludes exactly the socket_id connection from a publish', async () => {
    const a = await subscriber('excluding');
    const b = await subscriber('excluding');
    await sdk.trigger('excluding', 'skip-a', '{}', { socket_id: a.socketId });
    await sdk.trigger('excluding', 'sentinel', '{}');
    await a.client.next((f) => f.event === 'sentinel');
    await b.client.next((f) => f.event === 'sentinel');
    assert.equal(a.client.frames.some((f) => f.event === 'skip-a'), false);
    assert.equal(b.client.frames.some((f) => f.event === 'skip-a'), true);
  });

  it('returns the channels map for info=subscription_count,user_count on publish and batch', async () => {
    await subscriber('presence-info', 'p1');
    await subscriber('presence-info', 'p1');
    await subscriber('presence-info', 'p2');
    await subscriber('counted-info');
    const res = await sdk.trigger(['presence-info', 'counted-info', 'empty-info'], 'e', {}, { info: 'subscription_count,user_count' });
    assert.deepEqual(await res.json(), {
      channels: { 'presence-info': { user_count: 2 }, 'counted-info': { subscription_count: 1 }, 'empty-info': { subscription_count: 0 } },
    });
    const batch = await signedPost(sdk, '/batch_events', {
      batch: [
        { name: 'e', channel: 'presence-info', data: '{}', info: 'user_count' },
        { name: 'e', channel: 'counted-info', data: '{}' },
        { name: 'e', channel: 'counted-info', data: '{}', info: 'subscription_count' },
      ],
    });
    assert.deepEqual(await batch.json(), { batch: [{ user_count: 2 }, {}, { subscription_count: 1 }] });
    await assert.rejects(sdk.trigger('c', 'e', {}, { info: 'nonsense' }), failsWith(400));
  });

  it('lists occupied channels, filters by prefix, and requires a presence filter for user_count', async () => {
    await subscriber('list-a');
    await subscriber('presence-list', 'x1');
    const all = (await (await sdk.get({ path: '/channels', params: {} })).json()) as { channels: Record<string, object> };
    assert.deepEqual(all.channels['list-a'], {});
    assert.ok('presence-list' in all.channels);
    assert.equal('never-joined' in all.channels, false);
    const filtered = await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-list', info: 'user_count' } })).json();
    assert.deepEqual(filtered, { channels: { 'presence-list': { user_count: 1 } } });
    await assert.rejects(sdk.get({ path: '/channels', params: { info: 'user_count' } }), failsWith(400, /presence/));
    await assert.rejects(sdk.get({ path: '/channels', params: { filter_by_prefix: 'list-', info: 'user_count' } }), failsWith(400));
  });

  it('answers GET /channels/{name} with occupied and the asked counts, and 400 for attributes that do not apply', async () => {
    assert.deepEqual(await (await sdk.get({ path: '/channels/nobody-here', params: {} })).json(), { occupied: false });
    const { client } = await subscriber('one-channel');
    assert.deepEqual(await (await sdk.get({ path: '/channels/one-channel', params: { info: 'subscription_count' } })).json(), {
      occupied: true,
      subscription_count: 1,
    });
    await assert.rejects(sdk.get({ path: '/channels/one-channel', params: { info: 'user_count' } }), failsWith(400));
    await assert.rejects(sdk.get({ path: '/channels/one-channel', params: { info: 'cache' } }), failsWith(400));
    await assert.rejects(sdk.get({ path: '/channels/bad%20name', params: {} }), failsWith(400));
    await client.close();
    await waitFor(async () => ((await (await sdk.get({ path: '/channels/one-channel', params: {} })).json()) as { occupied: boolean }).occupied === false, {
      what: 'the channel to be vacated',
    });
  });

  it('lists presence users by id, counts distinct users, and refuses users of other channels', async () => {
    await subscriber('presence-people', 'ann');
    await subscriber('presence-people', 'ann');
    await subscriber('presence-people', 'bob');
    const users = (await (await sdk.get({ path: '/channels/presence-people/users', params: {} })).json()) as { users: Array<{ id: string }> };
    assert.deepEqual(users.users.map((u) => u.id).sort(), ['ann', 'bob']);
    const info = await (await sdk.get({ path: '/channels/presence-people', params: { info: 'user_count,subscription_count' } })).json();
    assert.deepEqual(info, { occupied: true, user_count: 2, subscription_count: 3 });
    await assert.rejects(sdk.get({ path: '/channels/public-people/users', params: {} }), failsWith(400, /presence/));
  });

  it('answers terminate_connections with {} and refuses an impossible user id', async () => {
    const res = await sdk.terminateUserConnections('nobody-connected');
    assert.deepEqual([res.status, await res.json()], [200, {}]);
    await assert.rejects(sdk.terminateUserConnections('star*'), failsWith(400));
    await assert.rejects(sdk.terminateUserConnections('x'.repeat(129)), failsWith(400));
  });

  it('never answers a refused request with 200: each carries a 4xx status and a JSON error', async () => {
    const events = `/apps/${main.id}/events`;
    const cases: Array<[string, string, string | undefined]> = [
      ['POST', events, '{"name":"e"}'],
      ['POST', events, '[]'],
      ['POST', events, '{"name":"e","data":"{}","channel":"c","channels":["c"]}'],
      ['POST', `/apps/${main.id}/batch_events`, '{"batch":[]}'],
      ['GET', `/apps/${main.id}/channels/public-x/users`, undefined],
      ['GET', `/apps/${main.id}/channels`, undefined],
    ];
    for (const [method, path, body] of cases) {
      const res = await rawRequest(method, path, body, undefined, path.endsWith('/channels') ? (q) => (q.auth_signature = '0'.repeat(64)) : undefined);
      assert.ok(res.status >= 400 && res.status < 500, `${method} ${path} ${body}: ${res.status}`);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(typeof ((await res.json()) as { error?: unknown }).error, 'string');
    }
  });
});
