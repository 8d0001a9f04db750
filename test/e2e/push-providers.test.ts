import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FcmMock } from '../fixtures/fcm/fcm-mock.js';
import { makeServiceAccount } from '../fixtures/fcm/service-account-fixture.js';
import type { TestServiceAccount } from '../fixtures/fcm/service-account-fixture.js';
import { generateVapidKeys } from '../fixtures/webpush/vapid-keys.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import { scrapeMetrics } from '../helpers/prometheus-text.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { waitFor } from '../helpers/wait.js';

const CONSOLE_TOKEN = 'console-token-for-provider-tests';

interface ReadyBody {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
  warnings: Array<{ check: string; app?: string; detail: string }>;
}

/** An app's herald_push_credentials_ok for a provider, or undefined when Herald does not export it: a missing gauge is not a 0. */
async function credentialsOk(herald: HeraldProcess, provider: 'apns' | 'fcm' | 'webpush', app: string): Promise<number | undefined> {
  const samples = (await scrapeMetrics(herald.metricsPort)).matching('herald_push_credentials_ok', { provider, app });
  assert.ok(samples.length <= 1, `one series per provider and app: ${JSON.stringify(samples)}`);
  return samples[0]?.value;
}

async function ready(herald: HeraldProcess): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(`${herald.baseUrl}/ready`);
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

describe('FCM and Web Push providers in the built daemon', () => {
  let creds: TestCredentials;
  let fcm: FcmMock;
  let account: TestServiceAccount;
  let unknownAccount: TestServiceAccount;
  const vapid = generateVapidKeys();

  const fcmBlock = (path: string) => ({ serviceAccountFile: path, endpoint: { host: '127.0.0.1', port: fcm.port, ca: creds.caCertPath } });
  const webpushBlock = () => ({ allowPrivateEndpoints: true, vapid: { subject: 'mailto:ops@example.com', ...vapid } });

  before(async () => {
    creds = await testCredentials();
    fcm = await FcmMock.start({ credentials: creds });
    account = makeServiceAccount(fcm.tokenUri);
    fcm.addAccount({ clientEmail: account.clientEmail, projectId: account.projectId, publicKey: account.publicKey });
    // Well formed, signed with a key Google does not know (deleted): the token endpoint answers invalid_grant.
    unknownAccount = makeServiceAccount(fcm.tokenUri);
  });
  after(async () => {
    await fcm?.close();
  });

  describe('every app’s credentials accepted', () => {
    let herald: HeraldProcess;
    before(async () => {
      herald = await startHeraldProcess({
        config: {
          apps: [
            { id: 'shop', key: 'shop-key', secret: 'shop-secret-1', apns: { dryRun: true }, fcm: fcmBlock(account.path), webpush: webpushBlock() },
            { id: 'android', key: 'android-key', secret: 'android-secret-1', fcm: fcmBlock(account.path) },
            { id: 'plain', key: 'plain-key', secret: 'plain-secret-1' },
          ],
          console: { enabled: true, token: CONSOLE_TOKEN },
        },
      });
    });
    after(async () => {
      await herald?.stop();
    });

    it('starts, is ready with no warnings, and fetches an access token for each FCM app at start-up', async () => {
      await waitFor(() => fcm.grants.filter((g) => g.ok).length >= 1 || undefined, { what: 'the start-up access token' });
      assert.deepEqual(fcm.grants.filter((g) => !g.ok), []);
      const { status, body } = await ready(herald);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.ready, true);
      assert.deepEqual(body.warnings, []);
      const logs = herald.logs();
      assert.deepEqual(logs.filter((l) => l.msg === 'fcm credentials loaded').map((l) => l.app).sort(), ['android', 'shop']);
      assert.deepEqual(logs.filter((l) => l.msg === 'webpush vapid keys loaded').map((l) => l.app), ['shop']);
    });

    it('exports a credentials gauge at 1 per provider and app, and none for apps without that provider', async () => {
      assert.equal(await credentialsOk(herald, 'fcm', 'shop'), 1);
      assert.equal(await credentialsOk(herald, 'fcm', 'android'), 1);
      assert.equal(await credentialsOk(herald, 'webpush', 'shop'), 1);
      assert.equal(await credentialsOk(herald, 'webpush', 'android'), undefined);
      assert.equal(await credentialsOk(herald, 'fcm', 'plain'), undefined);
      // A dry run has no credentials to refuse.
      assert.equal(await credentialsOk(herald, 'apns', 'shop'), undefined);
    });

    it('the console lists each app’s providers with their health', async () => {
      const res = await fetch(`${herald.baseUrl}/console/api/stats`, { headers: { authorization: `Bearer ${CONSOLE_TOKEN}` } });
      assert.equal(res.status, 200);
      const stats = (await res.json()) as { providers: Array<{ app: string; providers: Array<{ kind: string; ok: boolean; detail?: string }> }>; pushInFlight?: unknown };
      assert.ok(Array.isArray(stats.pushInFlight), 'requests in flight of every provider, not of APNs alone');
      assert.deepEqual(stats.providers, [
        { app: 'shop', providers: [{ kind: 'apns', ok: true, detail: 'dry run: nothing is sent to APNs' }, { kind: 'fcm', ok: true }, { kind: 'web', ok: true }] },
        { app: 'android', providers: [{ kind: 'fcm', ok: true }] },
        { app: 'plain', providers: [] },
      ]);
    });
  });

  describe('one app whose FCM service account Google refuses', () => {
    let herald: HeraldProcess;
    before(async () => {
      herald = await startHeraldProcess({
        config: {
          apps: [
            { id: 'android', key: 'android-key', secret: 'android-secret-1', fcm: fcmBlock(account.path) },
            { id: 'android-refused', key: 'refused-key', secret: 'refused-secret-1', fcm: fcmBlock(unknownAccount.path), webpush: webpushBlock() },
          ],
        },
      });
    });
    after(async () => {
      await herald?.stop();
    });

    it('stays ready, names the app under /ready’s warnings and sets herald_push_credentials_ok{provider="fcm"} to 0 for it alone', async () => {
      await waitFor(async () => (await credentialsOk(herald, 'fcm', 'android-refused')) === 0 || undefined, { what: 'the refused app’s gauge to drop to 0' });
      const { status, body } = await ready(herald);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.ready, true);
      assert.deepEqual(body.warnings, [{ check: 'fcm', app: 'android-refused', detail: 'credentials refused by FCM: InvalidGrant' }]);
      assert.equal(await credentialsOk(herald, 'fcm', 'android'), 1);
      // Its other provider is unaffected.
      assert.equal(await credentialsOk(herald, 'webpush', 'android-refused'), 1);
      const refusal = herald.logs().find((l) => l.msg === 'fcm credentials refused: sending stopped for this app');
      assert.equal(refusal?.app, 'android-refused');
      assert.ok(!herald.lines.some((line) => line.includes('PRIVATE KEY')), 'no key text in the logs');
    });
  });

  it('a VAPID private key file that cannot be read stops start-up naming the app', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-vapid-'));
    const keyFile = join(dir, 'vapid.key');
    writeFileSync(keyFile, 'not a key\n', { mode: 0o600 });
    const herald = startHeraldProcess({
      config: { apps: [{ id: 'browser', key: 'browser-key', secret: 'browser-secret-1', webpush: { vapid: { subject: 'mailto:ops@example.com', publicKey: vapid.publicKey, privateKeyFile: keyFile } } }] },
      timeoutMs: 30_000,
    });
    await assert.rejects(herald, (err: Error) => {
      assert.match(err.message, /^herald exited \(1\) before listening/);
      assert.match(err.message, /Web Push VAPID keys cannot be used:\\n {2}- app browser/);
      return true;
    });
  });
});
