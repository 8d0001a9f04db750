import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type Pusher from 'pusher';
import { signedRequest } from '../../src/client/signed-request.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { connected, pusherClient, serverSdk } from '../helpers/pusher-clients.js';
import type { PusherClient } from '../helpers/pusher-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

const app = { id: 'users-app', key: 'users-key', secret: 'users-secret-0001' };
const credentialsOf = { app: app.id, key: app.key, secret: app.secret };
const token = (): string => randomBytes(32).toString('hex');

interface Status {
  state: string;
  apns: { sent: number; failed: number; total?: number };
  realtime: { channels: number; error?: string };
  users?: { total: number; online: number; pushed: number; noDevices: number };
}

// Three Herald processes on one Redis: users signed in on any node are online for all of them.
describe('users and devices across three nodes', () => {
  let redis: TestRedis;
  let credentials: TestCredentials;
  let apns: ApnsMock;
  const nodes: HeraldProcess[] = [];
  const clients: PusherClient[] = [];

  before(async () => {
    redis = await startRedis();
    credentials = await testCredentials();
    apns = await ApnsMock.start({ credentials, auth: 'certificate' });
    const config = {
      redis: { url: redis.url },
      queue: { chunkSize: 25 },
      apps: [
        {
          ...app,
          apns: {
            topic: 'com.example.app',
            cert: credentials.clientCertPath,
            key: credentials.clientKeyPath,
            endpoint: { host: apns.host, port: apns.port, ca: credentials.caCertPath },
          },
        },
      ],
    };
    nodes.push(...(await Promise.all([0, 1, 2].map(() => startHeraldProcess({ config })))));
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(nodes.map((node) => node.stop('SIGTERM')));
    await apns?.close();
    await redis?.stop();
  });

  const sdk = (node: number): Pusher => serverSdk(nodes[node]!.httpPort, app);
  const call = (node: number, method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, body?: unknown) =>
    signedRequest(nodes[node]!.baseUrl, credentialsOf, method, path, body === undefined ? {} : { body });

  async function register(userId: string, count: number, interests: string[] = []): Promise<string[]> {
    const tokens = Array.from({ length: count }, token);
    for (const t of tokens) assert.equal((await call(0, 'PUT', `/devices/${t}`, { userId, platform: 'apns', interests })).status, 201);
    return tokens;
  }

  /** A pusher-js client on `node`, signed in as `userId`, collecting the events it gets as that user. */
  async function signedIn(node: number, userId: string): Promise<Array<{ event: string; data: unknown }>> {
    const client = pusherClient(nodes[node]!.httpPort, app, { user: { id: userId } });
    clients.push(client);
    await connected(client);
    const got: Array<{ event: string; data: unknown }> = [];
    client.user.bind('order.shipped', (data: unknown) => got.push({ event: 'order.shipped', data }));
    const signedInAt = new Promise<void>((resolve) => client.bind('pusher:signin_success', () => resolve()));
    client.signin();
    await signedInAt;
    return got;
  }

  async function send(node: number, notification: Record<string, unknown>): Promise<string> {
    const response = await sdk(node).post({ path: '/notifications', body: { v: 1, app: app.id, ...notification } as unknown as string });
    assert.equal(response.status, 202, await response.clone().text());
    return ((await response.json()) as { id: string }).id;
  }

  async function finished(id: string): Promise<Status> {
    return waitFor(
      async () => {
        const response = await sdk(2).get({ path: `/notifications/${id}` });
        const status = (await response.json()) as Status;
        return status.state === 'completed' || status.state === 'failed' ? status : undefined;
      },
      { what: `notification ${id} finished`, timeoutMs: 30_000 },
    );
  }

  const pushedTo = (tokens: readonly string[]): string[] => apns.requests.filter((r) => tokens.includes(r.token)).map((r) => r.token);

  it('online-first: a user signed in on another node gets the event and no push; an offline user gets a push on every device', async () => {
    const [onlineDevices, offlineDevices] = [await register('ann', 2), await register('bob', 3)];
    const events = await signedIn(1, 'ann');
    const id = await send(0, {
      to: { users: ['ann', 'bob'] },
      deliver: 'online-first',
      alert: { title: 'Shipped', body: 'Order 1 is on its way' },
      realtime: { event: 'order.shipped', data: { orderId: 1 } },
    });
    const status = await finished(id);
    await waitFor(() => events.length === 1, { what: 'ann got the event on her signed-in connection' });
    assert.deepEqual(events[0]!.data, { orderId: 1 });
    assert.deepEqual(status.users, { total: 2, online: 1, pushed: 1, noDevices: 0 });
    assert.deepEqual(pushedTo(onlineDevices), [], 'no push to an online user');
    assert.deepEqual(pushedTo(offlineDevices).sort(), [...offlineDevices].sort(), 'every device of the offline user, once');
    assert.equal(status.apns.sent, 3);
    const payload = apns.requests.find((r) => r.token === offlineDevices[0])!.payload as { aps: { alert: unknown } };
    assert.deepEqual(payload.aps.alert, { title: 'Shipped', body: 'Order 1 is on its way' }, 'alert fills aps.alert');
  });

  it('both: realtime to the online user and APNs to every device; a user with no devices is counted, not an error', async () => {
    const devices = await register('cat', 2);
    const events = await signedIn(2, 'cat');
    const id = await send(1, { to: { users: ['cat', 'nobody-here'] }, alert: { body: 'hi' }, realtime: { event: 'order.shipped', data: 'x' } });
    const status = await finished(id);
    await waitFor(() => events.length === 1, { what: 'cat got the event' });
    assert.deepEqual(pushedTo(devices).sort(), [...devices].sort());
    assert.deepEqual(status.users, { total: 2, online: 1, pushed: 1, noDevices: 1 });
    assert.equal(status.state, 'completed');
  });

  it('interests merge with explicit tokens without duplicates, and a device registered after acceptance gets it', async () => {
    const subscribed = await register('dan', 2, ['deals']);
    const explicit = token();
    const late = token();
    const id = await send(0, { to: { interests: ['deals'] }, apns: { tokens: [subscribed[0]!, explicit] }, alert: { title: 'Deal' }, sendAt: new Date(Date.now() + 1_500).toISOString() });
    assert.equal((await call(0, 'PUT', `/devices/${late}`, { userId: 'eve', platform: 'apns', interests: ['deals'] })).status, 201);
    const status = await finished(id);
    const all = [...subscribed, explicit, late];
    assert.deepEqual(pushedTo(all).sort(), [...all].sort(), 'each token once');
    assert.equal(status.apns.sent, 4);
  });

  it('a 410 removes the device and the next notification does not try it', async () => {
    const [gone, kept] = await register('fay', 2);
    apns.script({ token: gone!, reply: { status: 410, reason: 'Unregistered' } });
    const first = await finished(await send(0, { to: { users: ['fay'] }, deliver: 'push', alert: { title: 'one' } }));
    assert.equal(first.apns.failed, 1);
    await waitFor(async () => (await call(0, 'GET', `/devices/${gone}`)).status === 404, { what: 'the refused device removed' });
    const tries = pushedTo([gone!]).length;
    const second = await finished(await send(1, { to: { users: ['fay'] }, deliver: 'push', alert: { title: 'two' } }));
    assert.equal(pushedTo([gone!]).length, tries, 'not tried again');
    assert.equal(second.apns.sent, 1);
    assert.equal(pushedTo([kept!]).length, 2);
  });

  it('refuses unknown fields, too many users, a bad user id and online-first without an event with a 400 and its path', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ to: { users: ['1'], groups: ['x'] }, alert: { title: 't' } }, 'to.groups'],
      [{ to: { users: Array.from({ length: 1_001 }, (_, i) => `u${i}`) }, alert: { title: 't' } }, 'to.users'],
      [{ to: { users: ['ok', 'not ok'] }, alert: { title: 't' } }, 'to.users[1]'],
      [{ to: { interests: Array.from({ length: 101 }, (_, i) => `i${i}`) }, alert: { title: 't' } }, 'to.interests'],
      [{ to: { users: ['1'] }, deliver: 'online-first', alert: { title: 't' } }, 'realtime'],
      [{ to: { users: ['1'] } }, 'alert'],
    ];
    for (const [body, path] of cases) {
      const response = await call(0, 'POST', '/notifications', { v: 1, app: app.id, id: `bad-${path.replace(/[^a-z]/g, '')}`, ...body });
      assert.equal(response.status, 400, path);
      assert.equal((response.body as { path: string }).path, path);
      assert.equal((await call(0, 'GET', `/notifications/bad-${path.replace(/[^a-z]/g, '')}`)).status, 404, 'nothing queued');
    }
  });
});
