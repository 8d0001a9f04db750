import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../helpers/wait.js';
import { APP_ID, appConfig, deviceTokens, startHarness } from './apns-harness.js';
import type { Harness } from './apns-harness.js';

/**
 * ApnsProvider.reload swaps an app's credentials while it sends: a batch that started
 * on the old certificate finishes there, every token of it, however long it takes;
 * batches handed out after the reload use the new one. (There was no reload: a new
 * certificate needed a restart.)
 */
describe('APNs credentials swapped by a reload', () => {
  let h: Harness;
  let oldCert: string;
  let newCert: string;

  before(async () => {
    // Two streams at a time and slow answers: a batch of eight is still sending when the reload comes.
    h = await startHarness({ apns: { maxConcurrentStreams: 2 }, mock: { latencyMs: 150 } });
    oldCert = new X509Certificate(readFileSync(h.creds.clientCertPath)).fingerprint256;
    newCert = new X509Certificate(readFileSync(h.creds.soonExpiringClientCertPath)).fingerprint256;
  });

  after(async () => {
    await h?.close();
  });

  const renewed = (): ReturnType<typeof appConfig> =>
    appConfig(h.creds, 'pem', h.mock.port, { maxConcurrentStreams: 2, cert: h.creds.soonExpiringClientCertPath, key: h.creds.soonExpiringClientKeyPath });

  it('lets a running batch finish on the old pool, and sends the next with the new certificate', async () => {
    const running = deviceTokens(8, 'running');
    const sending = h.send({ tokens: running, notificationId: 'before' });
    await waitFor(() => h.mock.requests.some((r) => running.includes(r.token)), { what: 'the first batch at APNs' });

    h.provider.reload([renewed()]);
    const after = deviceTokens(2, 'after');
    const next = await h.send({ tokens: after, notificationId: 'after' });
    assert.deepEqual(next.map((r) => r.outcome.type), ['delivered', 'delivered']);

    const first = await sending;
    assert.deepEqual(first.map((r) => r.outcome.type), Array(8).fill('delivered'), 'every token of the running batch delivered, none given back unsent');
    const certOf = (tokens: string[]): string[] => [...new Set(h.mock.requests.filter((r) => tokens.includes(r.token)).map((r) => r.clientCertificate ?? 'none'))];
    assert.deepEqual(certOf(running), [oldCert]);
    assert.deepEqual(certOf(after), [newCert]);
  });

  it('refuses credentials that do not open, and keeps sending with the current ones', async () => {
    const broken = appConfig(h.creds, 'pem', h.mock.port, { cert: `${h.creds.dir}/missing.crt`, key: h.creds.clientKeyPath });
    assert.throws(() => h.provider.reload([broken]), { code: 'HERALD_CREDENTIALS_INVALID', message: /missing\.crt/ });
    const tokens = deviceTokens(1, 'still');
    const results = await h.send({ tokens });
    assert.equal(results[0]?.outcome.type, 'delivered');
    assert.ok(h.provider.serves(APP_ID));
  });

  it('stops serving an app the reload removed', async () => {
    h.provider.reload([]);
    assert.equal(h.provider.serves(APP_ID), false);
  });
});
