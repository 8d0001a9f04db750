import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SwappableAppStore } from '../../src/apps/app-store.js';
import { loadConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/events.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { WebPushProvider } from '../../src/providers/webpush/webpush-provider.js';
import { ConfigReloader } from '../../src/reload/config-reloader.js';
import type { ReloadOutcome } from '../../src/reload/config-reloader.js';
import { generateVapidKeys } from '../fixtures/webpush/vapid-keys.js';
import { APP_ID as APNS_APP, deviceTokens, fastApns, startHarness, tally } from './apns-harness.js';
import type { Harness } from './apns-harness.js';
import { APP_ID as FCM_APP, startFcmHarness } from './fcm-harness.js';
import type { FcmHarness } from './fcm-harness.js';

/**
 * The reloader checks every provider's new credentials before any provider swaps: one
 * FCM or Web Push file that does not open refuses the reload whole, APNs included, and
 * the reason names every problem. (APNs swapped as soon as its own check passed, and
 * FCM and Web Push credentials were not checked at all.)
 */
describe('a reload checks APNs, FCM and Web Push credentials before applying any', () => {
  let apns: Harness;
  let fcm: FcmHarness;
  let webpush: WebPushProvider;
  let reloader: ConfigReloader;
  let dir: string;
  const metrics = createMetrics({ defaults: false });
  const vapid = generateVapidKeys();

  /** A config file as an operator writes it: APNs `shop` with this certificate, FCM `android-shop`, and extra apps. */
  function configFile(apnsFiles: { cert: string; key: string }, fcmBlock: Record<string, unknown> = {}, more: Array<Record<string, unknown>> = []): string {
    const { creds } = apns;
    const endpoint = { host: '127.0.0.1', port: apns.mock.port, ca: creds.caCertPath };
    const apps = [
      { id: APNS_APP, key: 'shop-key', secret: 'shop-secret-123', apns: { production: false, topic: creds.bundleId, endpoint, ...fastApns, ...apnsFiles } },
      { id: FCM_APP, key: 'android-key', secret: 'android-secret-1', fcm: { serviceAccountFile: fcm.account.path, endpoint: { host: '127.0.0.1', port: fcm.mock.port, ca: creds.caCertPath }, ...fcmBlock } },
      ...more,
    ];
    const file = join(dir, `herald-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ apps }));
    return file;
  }

  const oldCert = (): { cert: string; key: string } => ({ cert: apns.creds.clientCertPath, key: apns.creds.clientKeyPath });
  const newCert = (): { cert: string; key: string } => ({ cert: apns.creds.soonExpiringClientCertPath, key: apns.creds.soonExpiringClientKeyPath });
  const fingerprint = (path: string): string => new X509Certificate(readFileSync(path)).fingerprint256;

  function reload(file: string): ReloadOutcome {
    return reloader.reload(() => loadConfig({ file, env: {} }));
  }

  /** The client certificate APNs saw for a push sent now. */
  async function apnsCertificate(seed: string): Promise<string | undefined> {
    const [token] = deviceTokens(1, seed);
    assert.ok(token);
    assert.deepEqual(tally(await apns.send({ tokens: [token] })), { delivered: 1 });
    return apns.mock.requests.find((r) => r.token === token)?.clientCertificate;
  }

  before(async () => {
    apns = await startHarness();
    fcm = await startFcmHarness();
    dir = mkdtempSync(join(tmpdir(), 'herald-reload-providers-'));
    const initial = loadConfig({ file: configFile(oldCert()), env: {} });
    const log = silentLogger();
    webpush = new WebPushProvider({ apps: initial.apps, log, metrics, events: new EventBus() });
    await webpush.start();
    reloader = new ConfigReloader({
      initial,
      targets: {
        apps: new SwappableAppStore(initial.apps),
        providers: [{ prepareReload: (apps) => apns.provider.prepareReload(apps.filter((app) => app.apns)) }, fcm.provider, webpush],
        closeApp: () => 0,
      },
      log,
      metrics,
    });
  });

  after(async () => {
    await webpush?.close(AbortSignal.timeout(2_000));
    await fcm?.close();
    await apns?.close();
  });

  it('refuses the whole reload when an FCM file does not open: APNs keeps its certificate', async () => {
    const missingCa = join(dir, 'missing-ca.pem');
    const outcome = reload(configFile(newCert(), { endpoint: { host: '127.0.0.1', port: fcm.mock.port, ca: missingCa } }));
    assert.equal(outcome.result, 'refused');
    assert.equal(outcome.result === 'refused' && outcome.reason, `FCM credentials cannot be used:\n  - app ${FCM_APP}: ${missingCa}: cannot read the FCM endpoint CA file: ENOENT`);
    assert.equal(await apnsCertificate('after-refused-fcm'), fingerprint(apns.creds.clientCertPath), 'APNs did not swap');
    assert.equal(await metrics.configReloads.get().then((m) => m.values.find((v) => v.labels.status === 'refused')?.value), 1);
  });

  it('names the problems of every provider in one refusal', async () => {
    const missingCa = join(dir, 'missing-ca.pem');
    const missingKey = join(dir, 'missing-vapid.key');
    const browser = { id: 'browser', key: 'browser-key', secret: 'browser-secret-1', webpush: { allowPrivateEndpoints: true, vapid: { subject: 'mailto:ops@example.com', publicKey: vapid.publicKey, privateKeyFile: missingKey } } };
    const outcome = reload(configFile(newCert(), { endpoint: { host: '127.0.0.1', port: fcm.mock.port, ca: missingCa } }, [browser]));
    assert.equal(outcome.result, 'refused');
    const reason = outcome.result === 'refused' ? outcome.reason : '';
    assert.match(reason, /^FCM credentials cannot be used:\n {2}- app android-shop: .*missing-ca\.pem/);
    assert.match(reason, /\nWeb Push VAPID keys cannot be used:\n {2}- app browser: webpush\.vapid\.privateKeyFile: cannot read .*missing-vapid\.key: ENOENT$/);
    assert.equal(webpush.serves('browser'), false);
    assert.equal(await apnsCertificate('after-refused-both'), fingerprint(apns.creds.clientCertPath));
  });

  it('applies a reload whose every credential opens, to every provider', async () => {
    const browser = { id: 'browser', key: 'browser-key', secret: 'browser-secret-1', webpush: { allowPrivateEndpoints: true, vapid: { subject: 'mailto:ops@example.com', ...vapid } } };
    const outcome = reload(configFile(newCert(), {}, [browser]));
    assert.equal(outcome.result, 'applied', JSON.stringify(outcome));
    assert.equal(webpush.serves('browser'), true);
    assert.equal(await apnsCertificate('after-applied'), fingerprint(apns.creds.soonExpiringClientCertPath));
    assert.equal(fcm.provider.serves(FCM_APP), true);
  });
});
