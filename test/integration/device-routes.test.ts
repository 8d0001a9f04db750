import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { StaticAppStore } from '../../src/apps/app-store.js';
import { loadConfig } from '../../src/config/load.js';
import { signedRequest } from '../../src/client/signed-request.js';
import { MemoryDeviceRegistry } from '../../src/devices/memory-device-registry.js';
import { HttpServer } from '../../src/http/server.js';
import { deviceRoutes } from '../../src/http/routes/devices.js';
import { deadlineAfter } from '../../src/lib/deadline.js';
import { signQuery } from '../../src/lib/pusher-signing.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';

const base = loadConfig({ env: {}, file: undefined }).apps[0]!;
const app = { ...base, id: 'shop', key: 'shop-key', secret: 'shop-secret' };
const other = { ...base, id: 'other', key: 'other-key', secret: 'other-secret' };
const credentials = { app: app.id, key: app.key, secret: app.secret };

const hex = (): string => randomBytes(32).toString('hex');
const p256dh = Buffer.concat([Buffer.from([4]), randomBytes(64)]).toString('base64url');
const auth = randomBytes(16).toString('base64url');

describe('device routes over signed HTTP', () => {
  const registry = new MemoryDeviceRegistry();
  const server = new HttpServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 1024 * 1024, apps: new StaticAppStore([app, other]), log: silentLogger(), metrics: createMetrics({ defaults: false }) });
  server.addRoutes(deviceRoutes({ registry, log: silentLogger(), now: () => 1_700_000_000_000 }));
  let url = '';
  before(async () => {
    await server.start();
    url = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.stop(deadlineAfter(2000)));

  const call = (method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown) => signedRequest(url, credentials, method, path, body === undefined ? {} : { body });

  it('registers (201), registers again (200), reads, lists by user and removes', async () => {
    const token = hex();
    const created = await call('PUT', `/devices/${token}`, { userId: '42', platform: 'apns', interests: ['news', 'deals'], topic: 'com.example.app', environment: 'production' });
    assert.equal(created.status, 201);
    const record = { token, userId: '42', platform: 'apns', interests: ['news', 'deals'], topic: 'com.example.app', environment: 'production', updatedAt: 1_700_000_000_000 };
    assert.deepEqual(created.body, record);
    // The same device spelt as Xcode prints it is the same device; it moves to user 43.
    const spelt = `<${token.toUpperCase().match(/.{8}/g)!.join(' ')}>`;
    const moved = await call('PUT', `/devices/${encodeURIComponent(spelt)}`, { userId: '43', platform: 'apns', interests: ['deals'] });
    assert.equal(moved.status, 200);
    assert.deepEqual(moved.body, { token, userId: '43', platform: 'apns', interests: ['deals'], updatedAt: 1_700_000_000_000 });
    assert.deepEqual((await call('GET', `/devices/${token}`)).body, moved.body);
    assert.deepEqual((await call('GET', '/users/42/devices')).body, { devices: [] });
    assert.deepEqual((await call('GET', '/users/43/devices')).body, { devices: [moved.body] });
    assert.equal((await signedRequest(url, { app: other.id, key: other.key, secret: other.secret }, 'GET', `/devices/${token}`)).status, 404, 'apps are apart');
    assert.equal((await call('DELETE', `/devices/${token}`)).status, 204);
    assert.equal((await call('GET', `/devices/${token}`)).status, 404);
    assert.equal((await call('DELETE', `/devices/${token}`)).status, 204, 'also when absent');
  });

  it('stores FCM and Web Push devices, and signs a user out of every device', async () => {
    const fcm = 'dGVzdA:APA91bH_x-y.z';
    assert.equal((await call('PUT', `/devices/${fcm}`, { userId: 'ann@example.com', platform: 'fcm' })).status, 201);
    const web = await call('PUT', '/devices/laptop-1', { userId: 'ann@example.com', platform: 'web', interests: ['news'], subscription: { endpoint: 'https://push.example.com/x', keys: { p256dh, auth } } });
    assert.equal(web.status, 201, JSON.stringify(web.body));
    assert.equal(((await call('GET', '/users/ann@example.com/devices')).body as { devices: unknown[] }).devices.length, 2);
    assert.equal((await call('DELETE', '/users/ann@example.com/devices')).status, 204);
    assert.deepEqual((await call('GET', '/users/ann@example.com/devices')).body, { devices: [] });
    assert.equal((await call('DELETE', '/users/ann@example.com/devices')).status, 204, 'also when there are none');
  });

  it('refuses bad registrations with a 400 naming the field, and stores nothing', async () => {
    const token = hex();
    const ok = { userId: 'u1', platform: 'apns', interests: ['news'] };
    const cases: Array<[string, unknown, string, RegExp]> = [
      [token, { ...ok, colour: 'red' }, 'colour', /unknown field 'colour'/],
      [token, { ...ok, interests: Array.from({ length: 101 }, (_, i) => `i${i}`) }, 'interests', /at most 100/],
      [token, { ...ok, interests: ['ok', 'not ok'] }, 'interests[1]', /1 to 164/],
      [token, { ...ok, interests: ['x'.repeat(165)] }, 'interests[0]', /1 to 164/],
      [token, { ...ok, userId: 'has space' }, 'userId', /Pusher user id/],
      [token, { ...ok, userId: 'u'.repeat(129) }, 'userId', /Pusher user id/],
      [token, { ...ok, userId: 42 }, 'userId', /string/],
      [token, { platform: 'apns' }, 'userId', /required/],
      [token, { ...ok, platform: 'sms' }, 'platform', /apns, fcm, web/],
      ['abc', ok, 'token', /odd number|hex digits/],
      ['zz'.repeat(32), ok, 'token', /hexadecimal/],
      [token, { ...ok, environment: 'staging' }, 'environment', /production or sandbox/],
      ['laptop', { ...ok, platform: 'web' }, 'subscription', /required/],
      ['laptop', { ...ok, platform: 'web', subscription: { endpoint: 'http://push.example.com/x', keys: { p256dh, auth } } }, 'subscription.endpoint', /https/],
      ['laptop', { ...ok, platform: 'web', subscription: { endpoint: 'https://push.example.com/x', keys: { p256dh: auth, auth } } }, 'subscription.keys.p256dh', /65 bytes/],
      ['laptop', { ...ok, platform: 'web', subscription: { endpoint: 'https://push.example.com/x', keys: { p256dh, auth: p256dh } } }, 'subscription.keys.auth', /16 bytes/],
      ['fcm:token', { ...ok, platform: 'fcm', topic: 'com.example' }, 'topic', /only APNs/],
      [token, { ...ok, subscription: { endpoint: 'https://push.example.com/x', keys: { p256dh, auth } } }, 'subscription', /only web/],
      [token, [ok], '', /JSON object/],
    ];
    for (const [rawToken, body, path, pattern] of cases) {
      const res = await call('PUT', `/devices/${encodeURIComponent(rawToken)}`, body);
      const answer = res.body as { error?: string; path?: string };
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(answer)}`);
      assert.equal(answer.path, path, answer.error);
      assert.match(answer.error ?? '', pattern);
    }
    for (const device of ['laptop', 'fcm:token', token]) assert.equal(await registry.get(app.id, device), undefined);
    assert.deepEqual(await registry.listByUser(app.id, 'u1'), []);
    assert.equal(await registry.interestSize(app.id, 'news'), 0);
  });

  it('refuses malformed tokens and user ids in the path of reads and removals', async () => {
    for (const path of ['/devices/has%20space%21', `/devices/${'a'.repeat(5000).slice(0, 400)}!`]) {
      const get = await call('GET', path);
      assert.equal(get.status, 400);
      assert.equal((get.body as { path?: string }).path, 'token');
      assert.equal((await call('DELETE', path)).status, 400);
    }
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await call(method, '/users/a%7Bb/devices');
      assert.equal(res.status, 400);
      assert.equal((res.body as { path?: string }).path, 'userId');
    }
  });

  it('refuses a body over 32 KiB before parsing it (413), and unsigned requests (401)', async () => {
    const body = JSON.stringify({ userId: 'u1', platform: 'apns', interests: ['x'.repeat(40_000)] });
    const path = `/apps/${app.id}/devices/${hex()}`;
    const res = await fetch(`${url}${path}?${new URLSearchParams(signQuery(app, 'PUT', path, body)).toString()}`, { method: 'PUT', body, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 413);
    const unsigned = await fetch(`${url}${path}`, { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(unsigned.status, 401);
    assert.deepEqual(await registry.listByUser(app.id, 'u1'), []);
  });
});
