import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { HeraldClient } from '../../src/client/index.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { FcmMock } from '../fixtures/fcm/fcm-mock.js';
import { makeServiceAccount } from '../fixtures/fcm/service-account-fixture.js';
import type { TestServiceAccount } from '../fixtures/fcm/service-account-fixture.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { runCli, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { scrapeMetrics } from '../helpers/prometheus-text.js';
import { collect, connected, pusherClient, serverSdk, subscribe } from '../helpers/pusher-clients.js';
import type { PusherClient } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';
import { deviceTokens } from '../integration/apns-harness.js';

/** Runs `write` (the new configuration), then `herald reload --pid-file`, and waits for the daemon's verdict in its log. */
async function reloadDaemon(herald: HeraldProcess, pidFile: string, write: () => void): Promise<Record<string, unknown>> {
  const seen = herald.logs().length;
  write();
  const sent = await runCli(['reload', '--pid-file', pidFile]);
  assert.equal(sent.code, 0, sent.stderr);
  return waitFor(() => herald.logs().slice(seen).find((line) => line.msg === 'config reloaded' || line.msg === 'config reload refused'), { what: 'the reload verdict in the log' });
}

const shop = { id: 'shop', key: 'shop-key', secret: 'shop-secret-0001' };
const late = { id: 'late', key: 'late-key', secret: 'late-secret-0001' };
const doomed = { id: 'doomed', key: 'doomed-key', secret: 'doomed-secret-01' };

/**
 * The built daemon reloads its configuration on SIGHUP (sent by `herald reload`): apps
 * appear, go away or are disabled, and APNs credentials are swapped, without a restart.
 * Before, SIGHUP ended the process (Node's default) and none of this could change.
 */
describe('configuration reload (SIGHUP, herald reload)', () => {
  let creds: TestCredentials;
  let mock: ApnsMock;
  let herald: HeraldProcess;
  let pidFile: string;
  const clients: PusherClient[] = [];
  const sockets: WebSocket[] = [];

  const shopApp = (cert: string, key: string): Record<string, unknown> => ({
    ...shop,
    apns: { topic: creds.bundleId, cert, key, endpoint: { host: '127.0.0.1', port: mock.port, ca: creds.caCertPath }, requestTimeoutMs: 20_000 },
  });
  const config = (apps: Array<Record<string, unknown>>): Record<string, unknown> => ({ server: { pidFile }, apps });

  before(async () => {
    creds = await testCredentials();
    mock = await ApnsMock.start({ credentials: creds, auth: 'certificate' });
    pidFile = join(creds.dir, `herald-reload-${process.pid}.pid`);
    herald = await startHeraldProcess({ config: config([shopApp(creds.clientCertPath, creds.clientKeyPath), doomed]) });
  });

  after(async () => {
    for (const client of clients) client.disconnect();
    for (const socket of sockets) socket.terminate();
    await herald?.stop();
    await mock?.close();
  });

  /** Rewrites the file, runs `herald reload --pid-file`, and waits for the daemon's verdict in its log. */
  async function reload(apps: Array<Record<string, unknown>> | string): Promise<Record<string, unknown>> {
    return reloadDaemon(herald, pidFile, () => (typeof apps === 'string' ? writeFileSync(herald.configFile, apps) : herald.rewriteConfig(config(apps))));
  }

  /** A raw socket to an app's key, open once pusher:connection_established arrived. */
  async function rawSocket(key: string): Promise<{ socket: WebSocket; closed: Promise<number> }> {
    const socket = new WebSocket(`ws://127.0.0.1:${herald.httpPort}/app/${key}?protocol=7&client=js&version=8.4.0`);
    sockets.push(socket);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      socket.once('message', (data: Buffer) => ((JSON.parse(data.toString()) as { event: string }).event === 'pusher:connection_established' ? resolve() : reject(new Error(data.toString()))));
      socket.once('error', reject);
    });
    return { socket, closed };
  }

  it('writes the pid file herald reload reads', () => {
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(herald.child.pid));
  });

  it('serves an app added to the file: pusher-js connects and subscribes, signed API calls reach it (SIGHUP used to stop the daemon)', async () => {
    const verdict = await reload([shopApp(creds.clientCertPath, creds.clientKeyPath), doomed, late]);
    assert.equal(verdict.msg, 'config reloaded');
    assert.deepEqual(verdict.added, ['late']);
    const client = pusherClient(herald.httpPort, late);
    clients.push(client);
    await connected(client);
    const { channel } = await subscribe(client, 'private-late');
    const events = collect<{ n: number }>(channel, 'hello');
    const answer = await serverSdk(herald.httpPort, late).trigger('private-late', 'hello', { n: 1 });
    assert.equal(answer.status, 200);
    await waitFor(() => events.length === 1, { what: 'the event on the new app' });
    assert.deepEqual(events[0]?.data, { n: 1 });
  });

  it('closes the sockets of a removed app with 4001 and of a disabled app with 4003', async () => {
    const removed = await rawSocket(doomed.key);
    const disabled = await rawSocket(late.key);
    const verdict = await reload([shopApp(creds.clientCertPath, creds.clientKeyPath), { ...late, enabled: false }]);
    assert.deepEqual([verdict.removed, verdict.disabled], [['doomed'], ['late']]);
    assert.equal(await removed.closed, 4001);
    assert.equal(await disabled.closed, 4003);
    // And a new socket for the removed key is refused as unknown.
    const again = new WebSocket(`ws://127.0.0.1:${herald.httpPort}/app/${doomed.key}?protocol=7`);
    sockets.push(again);
    assert.equal(await new Promise<number>((resolve) => again.once('close', (code) => resolve(code))), 4001);
  });

  it('refuses a broken configuration, logs why, counts it, and keeps serving the old one', async () => {
    const before = (await scrapeMetrics(herald.metricsPort)).value('herald_config_reloads_total', { status: 'refused' });
    const bad = await reload([{ ...shop, secret: 'short' }]);
    assert.equal(bad.msg, 'config reload refused');
    assert.match(String(bad.reason), /apps\[0\]\.secret: must be at least 8 characters/);
    const unparsable = await reload('apps: [ { id: shop\n');
    assert.equal(unparsable.msg, 'config reload refused');
    const missingCert = await reload([shopApp(join(creds.dir, 'missing.crt'), creds.clientKeyPath)]);
    assert.equal(missingCert.msg, 'config reload refused');
    assert.match(String(missingCert.reason), /missing\.crt/);
    const metrics = await scrapeMetrics(herald.metricsPort);
    assert.equal(metrics.value('herald_config_reloads_total', { status: 'refused' }) - before, 3);
    // The old shop (its secret, its APNs) still works.
    const answer = await serverSdk(herald.httpPort, shop).trigger('still-here', 'e', {});
    assert.equal(answer.status, 200);
  });

  it('swaps APNs credentials: a push in flight on the old certificate completes, the next goes out with the new one', async () => {
    const oldCert = new X509Certificate(readFileSync(creds.clientCertPath)).fingerprint256;
    const newCert = new X509Certificate(readFileSync(creds.soonExpiringClientCertPath)).fingerprint256;
    const client = new HeraldClient({ url: herald.baseUrl, appId: shop.id, key: shop.key, secret: shop.secret });
    const [slowToken] = deviceTokens(1, 'in-flight');
    const [nextToken] = deviceTokens(1, 'after-swap');
    assert.ok(slowToken && nextToken);
    // Apple holds the first answer long enough for the reload to happen while it is in flight.
    mock.setOptions({ latencyMs: 4_000 });
    const slow = await client.notify({ apns: { tokens: [slowToken], payload: { aps: { alert: 'old' } } } });
    const inFlight = await waitFor(() => mock.requests.find((r) => r.token === slowToken), { what: 'the first push at APNs' });
    assert.equal(inFlight.clientCertificate, oldCert);

    const verdict = await reload([shopApp(creds.soonExpiringClientCertPath, creds.soonExpiringClientKeyPath), { ...late, enabled: false }]);
    assert.equal(verdict.msg, 'config reloaded');
    assert.deepEqual(verdict.changed, ['shop']);
    assert.equal(inFlight.reply, 'stalled', 'the first push is still unanswered when the reload is done');
    mock.setOptions({ latencyMs: 0 });

    const next = await client.notify({ apns: { tokens: [nextToken], payload: { aps: { alert: 'new' } } } });
    const completed = async (id: string): Promise<boolean> => (await client.status(id))?.state === 'completed';
    await waitFor(() => completed(next), { what: 'the push after the swap delivered' });
    const afterSwap = mock.requests.filter((r) => r.token === nextToken);
    assert.deepEqual(afterSwap.map((r) => [r.status, r.clientCertificate]), [[200, newCert]]);

    await waitFor(() => completed(slow), { what: 'the in-flight push completed', timeoutMs: 15_000 });
    assert.deepEqual(mock.requests.filter((r) => r.token === slowToken).map((r) => [r.status, r.clientCertificate]), [[200, oldCert]], 'answered on the old connection, never resent');
    const status = await client.status(slow);
    assert.equal(status?.apns.sent, 1);
    await client.close();
  });

  it('reports settings that need a restart and ignores them', async () => {
    const seen = herald.logs().length;
    const verdict = await reload([shopApp(creds.soonExpiringClientCertPath, creds.soonExpiringClientKeyPath)]);
    assert.equal(verdict.msg, 'config reloaded');
    herald.rewriteConfig({ ...config([shopApp(creds.soonExpiringClientCertPath, creds.soonExpiringClientKeyPath)]), queue: { prefix: 'other' }, gateway: { maxChannelsPerConnection: 5 } });
    assert.equal((await runCli(['reload', '--pid', String(herald.child.pid)])).code, 0);
    const warning = await waitFor(() => herald.logs().slice(seen).find((line) => line.msg === 'config reload: these settings need a restart and were ignored'), { what: 'the needs-restart warning' });
    assert.deepEqual(warning.settings, ['gateway.maxChannelsPerConnection', 'queue.prefix']);
    assert.equal((await fetch(`${herald.baseUrl}/health`)).status, 200);
  });
});

/**
 * FCM credentials change on SIGHUP too: a daemon that started with no FCM app serves one
 * a reload adds, takes a rotated service-account key, and refuses a broken key file
 * while the running key keeps sending. (Only APNs credentials were reloaded: an FCM app
 * added by a reload failed its tokens until a restart.)
 */
describe('FCM credentials on reload (SIGHUP)', () => {
  const android = { id: 'android', key: 'android-key', secret: 'android-secret-1' };
  let creds: TestCredentials;
  let fcm: FcmMock;
  let account: TestServiceAccount;
  let herald: HeraldProcess;
  let client: HeraldClient;
  let pidFile: string;

  const config = (fcmBlock?: Record<string, unknown>): Record<string, unknown> => ({ server: { pidFile }, apps: [{ ...android, ...(fcmBlock ? { fcm: fcmBlock } : {}) }] });
  const fcmBlock = (serviceAccountFile: string): Record<string, unknown> => ({ serviceAccountFile, endpoint: { host: '127.0.0.1', port: fcm.port, ca: creds.caCertPath } });
  const reload = (next: Record<string, unknown>): Promise<Record<string, unknown>> => reloadDaemon(herald, pidFile, () => herald.rewriteConfig(next));

  /** Notifies one FCM token and waits for the notification to finish; its FCM counts. */
  async function notifyFcm(token: string): Promise<{ sent: number; failed: number } | undefined> {
    const id = await client.notify({ fcm: { tokens: [token], notification: { title: 'Shipped', body: token } } });
    const status = await waitFor(async () => {
      const current = await client.status(id);
      return current?.state === 'completed' || current?.state === 'failed' ? current : undefined;
    }, { what: `notification ${id} finished` });
    return status.platforms?.fcm;
  }

  before(async () => {
    creds = await testCredentials();
    fcm = await FcmMock.start({ credentials: creds });
    account = makeServiceAccount(fcm.tokenUri);
    fcm.addAccount({ clientEmail: account.clientEmail, projectId: account.projectId, publicKey: account.publicKey });
    pidFile = join(creds.dir, `herald-reload-fcm-${process.pid}.pid`);
    herald = await startHeraldProcess({ config: config() });
    client = new HeraldClient({ url: herald.baseUrl, appId: android.id, key: android.key, secret: android.secret });
  });

  after(async () => {
    await client?.close();
    await herald?.stop();
    await fcm?.close();
  });

  it('adds the first FCM app: a notification to an FCM token is delivered through FCM', async () => {
    await assert.rejects(client.notify({ fcm: { tokens: ['before-reload:APA91b'], notification: { title: 'no' } } }), /no FCM credentials configured/);
    const verdict = await reload(config(fcmBlock(account.path)));
    assert.equal(verdict.msg, 'config reloaded', JSON.stringify(verdict));
    assert.deepEqual(verdict.changed, ['android']);

    const token = 'added-by-reload:APA91bHerald';
    assert.deepEqual(await notifyFcm(token), { sent: 1, failed: 0 });
    assert.deepEqual(fcm.delivered().map((s) => s.token), [token]);
    assert.equal(fcm.grants.filter((g) => !g.ok).length, 0);
  });

  it('takes a rotated key, then refuses a broken key file with its reason, and the running key keeps sending', async () => {
    // A new key for the same account in a new file; Google deleted the old key, so the cached token is the only thing the old key still gives.
    const rotated = makeServiceAccount(fcm.tokenUri, { clientEmail: account.clientEmail, projectId: account.projectId });
    fcm.addAccount({ clientEmail: rotated.clientEmail, projectId: rotated.projectId, publicKey: rotated.publicKey });
    const granted = fcm.tokensIssued;
    const rotatedVerdict = await reload(config(fcmBlock(rotated.path)));
    assert.equal(rotatedVerdict.msg, 'config reloaded');
    // A token is fetched for the changed app at once, signed with the new key (the mock checks the assertion).
    await waitFor(() => fcm.tokensIssued === granted + 1, { what: 'an access token for the rotated key' });
    assert.deepEqual(await notifyFcm('after-rotation:APA91b'), { sent: 1, failed: 0 });

    writeFileSync(rotated.path, rotated.json.slice(0, 200));
    const verdict = await reload(config(fcmBlock(rotated.path)));
    assert.equal(verdict.msg, 'config reload refused');
    const reason = String(verdict.reason);
    assert.ok(reason.includes(`apps[0].fcm.serviceAccountFile: ${rotated.path}: not JSON`), reason);
    assert.ok(!herald.lines.some((line) => line.includes('PRIVATE KEY')), 'no key text in the logs');

    assert.deepEqual(await notifyFcm('after-refusal:APA91b'), { sent: 1, failed: 0 });
    assert.deepEqual(fcm.delivered().map((s) => s.token).slice(-2), ['after-rotation:APA91b', 'after-refusal:APA91b']);
  });
});
