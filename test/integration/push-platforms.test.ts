import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signedRequest } from '../../src/client/signed-request.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { FcmMock } from '../fixtures/fcm/fcm-mock.js';
import { makeServiceAccount } from '../fixtures/fcm/service-account-fixture.js';
import { generateVapidKeys } from '../fixtures/webpush/vapid-keys.js';
import { WebPushMock } from '../fixtures/webpush/webpush-mock.js';
import { testCredentials } from '../helpers/certs.js';
import { runCli, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

const app = { id: 'platforms-app', key: 'platforms-key', secret: 'platforms-secret-01' };
const credentialsOf = { app: app.id, key: app.key, secret: app.secret };

interface Status {
  state: string;
  apns: { sent: number; failed: number; total?: number };
  platforms?: Record<'apns' | 'fcm' | 'web', { sent: number; failed: number }>;
  users?: { total: number; online: number; pushed: number; noDevices: number };
}

// One notification to a user's iPhone (APNs), Android phone (FCM) and browser (Web Push), through the built daemon on Redis.
describe('one notification to every platform of a user', () => {
  let redis: TestRedis;
  let apns: ApnsMock;
  let fcm: FcmMock;
  let webpush: WebPushMock;
  let herald: HeraldProcess;
  const vapid = generateVapidKeys();

  before(async () => {
    const credentials = await testCredentials();
    redis = await startRedis();
    apns = await ApnsMock.start({ credentials, auth: 'certificate' });
    fcm = await FcmMock.start({ credentials });
    const account = makeServiceAccount(fcm.tokenUri);
    fcm.addAccount({ clientEmail: account.clientEmail, projectId: account.projectId, publicKey: account.publicKey });
    webpush = await WebPushMock.start({ cert: credentials.serverCert, key: credentials.serverKey });
    herald = await startHeraldProcess({
      // The push service's certificate is the test CA's, as Google's is a public CA's.
      env: { NODE_EXTRA_CA_CERTS: credentials.caCertPath },
      config: {
        redis: { url: redis.url },
        apps: [
          {
            ...app,
            apns: { topic: 'com.example.app', cert: credentials.clientCertPath, key: credentials.clientKeyPath, endpoint: { host: apns.host, port: apns.port, ca: credentials.caCertPath } },
            fcm: { serviceAccountFile: account.path, endpoint: { host: '127.0.0.1', port: fcm.port, ca: credentials.caCertPath } },
            webpush: { allowPrivateEndpoints: true, vapid: { subject: 'mailto:ops@example.com', ...vapid } },
          },
        ],
      },
    });
  });

  after(async () => {
    await herald?.stop('SIGTERM');
    await Promise.all([apns?.close(), fcm?.close(), webpush?.close()]);
    await redis?.stop();
  });

  const call = (method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown) => signedRequest(herald.baseUrl, credentialsOf, method, path, body === undefined ? {} : { body });

  async function devicesOf(userId: string): Promise<{ iphone: string; android: string; browser: ReturnType<WebPushMock['subscribe']> }> {
    const iphone = randomBytes(32).toString('hex');
    const android = `fcm-${randomBytes(12).toString('hex')}:APA91b`;
    const browser = webpush.subscribe({ applicationServerKey: vapid.publicKey });
    assert.equal((await call('PUT', `/devices/${iphone}`, { userId, platform: 'apns' })).status, 201);
    assert.equal((await call('PUT', `/devices/${android}`, { userId, platform: 'fcm' })).status, 201);
    assert.equal((await call('PUT', `/devices/browser-${browser.id}`, { userId, platform: 'web', subscription: browser.json })).status, 201);
    return { iphone, android, browser };
  }

  async function send(notification: Record<string, unknown>): Promise<Status> {
    const accepted = await call('POST', '/notifications', { v: 1, app: app.id, ...notification });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const { id } = accepted.body as { id: string };
    return waitFor(
      async () => {
        const status = (await call('GET', `/notifications/${id}`)).body as Status;
        return status.state === 'completed' || status.state === 'failed' ? status : undefined;
      },
      { what: `notification ${id} finished`, timeoutMs: 30_000 },
    );
  }

  it('delivers one notification with to.users and alert to the iPhone, the Android phone and the browser (decrypted)', async () => {
    const { iphone, android, browser } = await devicesOf('ann');
    const status = await send({ to: { users: ['ann'] }, alert: { title: 'Shipped', body: 'Order 7 is on its way' }, fcm: { data: { orderId: '7' } } });
    assert.equal(status.state, 'completed');
    assert.deepEqual(status.users, { total: 1, online: 0, pushed: 1, noDevices: 0 });
    assert.deepEqual([status.apns.sent, status.apns.failed], [3, 0], 'apns counts every token, as for older clients');
    assert.deepEqual(status.platforms, { apns: { sent: 1, failed: 0 }, fcm: { sent: 1, failed: 0 }, web: { sent: 1, failed: 0 } });

    const toIphone = apns.requests.filter((r) => r.token === iphone);
    assert.equal(toIphone.length, 1);
    assert.deepEqual((toIphone[0]?.payload as { aps: unknown }).aps, { alert: { title: 'Shipped', body: 'Order 7 is on its way' } });

    const toAndroid = fcm.delivered().filter((s) => s.token === android);
    assert.equal(toAndroid.length, 1);
    assert.deepEqual(toAndroid[0]?.message?.notification, { title: 'Shipped', body: 'Order 7 is on its way' });
    assert.deepEqual(toAndroid[0]?.message?.data, { orderId: '7' });

    const toBrowser = webpush.messagesFor(browser.id);
    assert.equal(toBrowser.length, 1);
    assert.deepEqual(JSON.parse(toBrowser[0]?.plaintext ?? ''), { title: 'Shipped', body: 'Order 7 is on its way' }, 'the browser decrypts the alert');
    assert.deepEqual(webpush.undecryptable, []);
  });

  it('an FCM UNREGISTERED and a Web Push 410 remove those devices; the iPhone keeps getting it', async () => {
    const { iphone, android, browser } = await devicesOf('bob');
    fcm.script({ token: android, reply: { error: 'UNREGISTERED' } });
    webpush.unsubscribe(browser.id);
    const first = await send({ to: { users: ['bob'] }, alert: { title: 'one' } });
    assert.deepEqual([first.apns.sent, first.apns.failed], [1, 2]);
    assert.deepEqual(first.platforms, { apns: { sent: 1, failed: 0 }, fcm: { sent: 0, failed: 1 }, web: { sent: 0, failed: 1 } });
    await waitFor(async () => (await call('GET', `/devices/${android}`)).status === 404, { what: 'the unregistered Android device removed' });
    await waitFor(async () => (await call('GET', `/devices/browser-${browser.id}`)).status === 404, { what: 'the unsubscribed browser removed' });
    const fcmTries = fcm.sends.filter((s) => s.token === android).length;
    const second = await send({ to: { users: ['bob'] }, alert: { title: 'two' } });
    assert.deepEqual([second.apns.sent, second.apns.failed], [1, 0]);
    assert.equal(second.platforms, undefined, 'only APNs tokens: no per-platform counts');
    assert.equal(fcm.sends.filter((s) => s.token === android).length, fcmTries, 'the removed Android device is not tried again');
    assert.equal(apns.requests.filter((r) => r.token === iphone).length, 2);
  });

  it('herald send --fcm-token sends an alert to an Android token and prints the per-platform counts', async () => {
    const android = `cli-${randomBytes(8).toString('hex')}:APA91b`;
    const res = await runCli(['send', '--app', app.id, '--key', app.key, '--secret', app.secret, '--url', herald.baseUrl, '--fcm-token', android, '--title', 'From the CLI']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout + res.stderr, /fcm 1 sent, 0 failed/);
    assert.deepEqual(fcm.delivered().filter((s) => s.token === android).map((s) => s.message?.notification), [{ title: 'From the CLI' }]);
  });
});
