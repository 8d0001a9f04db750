import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { AppConfig } from '../../src/config/load.js';
import type { WebPushConfig } from '../../src/config/webpush-schema.js';
import type { PushResult } from '../../src/providers/provider.js';
import { generateVapidKeys } from '../fixtures/webpush/vapid-keys.js';
import { waitFor } from '../helpers/wait.js';
import { appConfig, startHarness } from './webpush-harness.js';
import type { WebPushHarness } from './webpush-harness.js';

const SUBJECT = 'mailto:ops@example.com';

function outcomes(results: readonly PushResult[]): string[] {
  return results.map(({ outcome }) => (outcome.type === 'delivered' ? 'delivered' : `${outcome.type}:${outcome.reason}`));
}

/**
 * WebPushProvider.reload takes a reloaded configuration while it sends: apps appear,
 * change their VAPID key or go. (There was no reload: a Web Push app added or changed
 * needed a restart, and one added was answered AppNotConfigured.)
 */
describe('Web Push VAPID keys swapped by a reload', () => {
  let h: WebPushHarness;

  afterEach(async () => {
    await h?.close();
  });

  /** app1 as the next configuration has it, with these settings over the harness's. */
  const app1 = (webpush: Partial<WebPushConfig> = {}): AppConfig => appConfig('app1', { allowPrivateEndpoints: true, vapid: { subject: SUBJECT, ...h.vapid }, ...webpush });

  /** Series of a gauge for the app under provider="webpush": 0 once they were dropped. */
  async function series(name: 'pushCredentialsOk' | 'pushInFlight', app = 'app1'): Promise<number> {
    return (await h.metrics[name].get()).values.filter((v) => v.labels.provider === 'webpush' && v.labels.app === app).length;
  }

  it('serves an app a reload adds, signing with its own key, while the unchanged app keeps its connection', async () => {
    h = await startHarness();
    const mine = h.mock.subscribe({ applicationServerKey: h.vapid.publicKey });
    assert.deepEqual(outcomes(await h.send([mine])), ['delivered']);
    const keys = generateVapidKeys();
    const theirs = h.mock.subscribe({ applicationServerKey: keys.publicKey });
    assert.deepEqual(outcomes(await h.send([theirs], {}, { app: 'app2' })), ['rejected:AppNotConfigured']);
    const { connections } = h.mock;

    h.provider.reload([app1(), appConfig('app2', { allowPrivateEndpoints: true, vapid: { subject: SUBJECT, ...keys } })]);
    assert.equal(h.provider.serves('app2'), true);
    assert.deepEqual(outcomes(await h.send([theirs], {}, { app: 'app2' })), ['delivered'], 'the push service checked the new app’s key');
    assert.equal(h.mock.messagesFor(theirs.id).length, 1);
    assert.deepEqual(outcomes(await h.send([mine])), ['delivered']);
    assert.equal(h.mock.connections, connections + 1, 'one connection for the new app, the running one reused');
    assert.equal(await series('pushCredentialsOk', 'app2'), 1);
  });

  it('signs with a rotated key from the reload on', async () => {
    h = await startHarness();
    const rotated = generateVapidKeys();
    const subscribedToNew = h.mock.subscribe({ applicationServerKey: rotated.publicKey });
    assert.deepEqual(outcomes(await h.send([subscribedToNew])), ['credentials:VapidRefused'], 'the running key is not the one the browser subscribed with');

    h.provider.reload([app1({ vapid: { subject: SUBJECT, ...rotated } })]);
    assert.deepEqual(outcomes(await h.send([subscribedToNew])), ['delivered']);
    assert.equal(h.mock.messagesFor(subscribedToNew.id).length, 1);
  });

  it('refuses key files that do not open or do not match, naming app and key and never the key, and keeps sending with the running key', async () => {
    h = await startHarness();
    const dir = mkdtempSync(join(tmpdir(), 'herald-vapid-reload-'));
    const missing = app1({ vapid: { subject: SUBJECT, publicKey: h.vapid.publicKey, privateKeyFile: join(dir, 'missing.key') } });
    assert.throws(() => h.provider.reload([missing]), { code: 'HERALD_CREDENTIALS_INVALID', message: /app app1: webpush\.vapid\.privateKeyFile: cannot read .*missing\.key: ENOENT/ });

    const other = generateVapidKeys();
    const otherFile = join(dir, 'other.key');
    writeFileSync(otherFile, `${other.privateKey}\n`, { mode: 0o600 });
    const mismatched = app1({ vapid: { subject: SUBJECT, publicKey: h.vapid.publicKey, privateKeyFile: otherFile } });
    const added = appConfig('app2', { allowPrivateEndpoints: true, vapid: { subject: SUBJECT, ...generateVapidKeys() } });
    assert.throws(
      () => h.provider.reload([mismatched, added]),
      (err: Error) => {
        assert.match(err.message, /^Web Push VAPID keys cannot be used:\n {2}- app app1: webpush\.vapid\.privateKeyFile: /);
        assert.ok(!err.message.includes(other.privateKey), 'no key text in the message');
        return true;
      },
    );
    assert.equal(h.provider.serves('app2'), false, 'nothing of a refused reload applies');

    const sub = h.mock.subscribe({ applicationServerKey: h.vapid.publicKey });
    assert.deepEqual(outcomes(await h.send([sub])), ['delivered']);
  });

  it('stops serving an app a reload removes, drops its gauges and closes its connections', async () => {
    h = await startHarness();
    assert.deepEqual(outcomes(await h.send([h.mock.subscribe()])), ['delivered']);
    assert.deepEqual([await series('pushCredentialsOk'), await series('pushInFlight')], [1, 1]);
    assert.equal(h.mock.openConnections, 1);

    h.provider.reload([]);
    assert.equal(h.provider.serves('app1'), false);
    assert.deepEqual(h.provider.refusedCredentials(), []);
    assert.deepEqual([await series('pushCredentialsOk'), await series('pushInFlight')], [0, 0]);
    assert.deepEqual(outcomes(await h.send([h.mock.subscribe()])), ['rejected:AppNotConfigured']);
    await waitFor(() => h.mock.openConnections === 0, { what: 'the removed app’s connection closed', timeoutMs: 3_000 });
  });

  it('lets a batch running during a reload finish on the old connections and key, sends the next on the new ones, then closes the old', async () => {
    h = await startHarness({ webpush: { maxInFlight: 2 } });
    h.mock.latencyMs = 150;
    const running = Array.from({ length: 6 }, () => h.mock.subscribe({ applicationServerKey: h.vapid.publicKey }));
    const sending = h.send(running);
    await waitFor(() => h.mock.inFlight > 0, { what: 'the first batch at the push service' });

    // Another in-flight bound means other connections; another key, another signer.
    const rotated = generateVapidKeys();
    h.provider.reload([app1({ maxInFlight: 3, vapid: { subject: SUBJECT, ...rotated } })]);
    const next = h.mock.subscribe({ applicationServerKey: rotated.publicKey });
    assert.deepEqual(outcomes(await h.send([next])), ['delivered']);

    assert.deepEqual(outcomes(await sending), Array(6).fill('delivered'), 'every subscription of the running batch delivered with the key it started with');
    assert.deepEqual(running.map((sub) => h.mock.attempts.get(sub.id)), Array(6).fill(1), 'none sent twice');
    await waitFor(() => h.mock.openConnections === 1, { what: 'the old connections closed once their batch ended', timeoutMs: 3_000 });
  });

  it('lets a batch of an app a reload removes finish, then drops its gauges', async () => {
    h = await startHarness();
    h.mock.latencyMs = 150;
    const sending = h.send([h.mock.subscribe(), h.mock.subscribe()]);
    await waitFor(() => h.mock.inFlight > 0, { what: 'the batch at the push service' });

    h.provider.reload([]);
    assert.equal(h.provider.serves('app1'), false);
    assert.deepEqual(outcomes(await sending), ['delivered', 'delivered']);
    assert.deepEqual([await series('pushCredentialsOk'), await series('pushInFlight')], [0, 0], 'gone, and not brought back by the batch’s last requests');
    await waitFor(() => h.mock.openConnections === 0, { what: 'its connections closed once the batch ended', timeoutMs: 3_000 });
  });
});
