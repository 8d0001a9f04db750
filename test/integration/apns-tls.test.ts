import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { testCredentials } from '../helpers/certs.js';
import { APP_ID, deviceTokens, startHarness, tally } from './apns-harness.js';

/** Anything escaping as an unhandled rejection or exception fails the suite. */
const escaped: unknown[] = [];
const onEscape = (err: unknown): void => {
  escaped.push(err);
};
before(() => {
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
});
after(() => {
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
  assert.deepEqual(escaped, []);
});

describe('APNs TLS failures are classified results', () => {
  it('a server certificate from a CA Herald does not trust: retry with TlsUntrustedServer after the attempts, few connects', async () => {
    const creds = await testCredentials();
    const h = await startHarness({ mode: 'pem', endpointCa: creds.otherCaCertPath });
    try {
      const results = await h.send({ tokens: deviceTokens(100, 'wrong-ca') });
      assert.deepEqual(tally(results), { 'retry:TlsUntrustedServer': 100 });
      for (const { outcome } of results) assert.ok(outcome.type === 'retry' && (outcome.afterMs ?? 0) > 0 && outcome.unconfirmed === undefined);
      assert.equal(h.mock.requests.length, 0);
      // One connect per backoff step, not one per token.
      assert.ok(h.mock.tlsFailures.length >= 1 && h.mock.tlsFailures.length <= 6, `${h.mock.tlsFailures.length} TLS connections for 100 tokens`);
      assert.equal(h.provider.health(APP_ID).ok, true, 'the app\'s own credentials are not at fault');
      assert.ok((await h.metric('apnsRequests', { app: APP_ID, status: 'none', reason: 'TlsUntrustedServer' })) >= 100);
    } finally {
      await h.close();
    }
  });

  it('a client certificate the server refuses at the handshake: credentials result, app marked refused', async () => {
    const creds = await testCredentials();
    const h = await startHarness({ mode: 'pem', apns: { cert: creds.otherCaClientCertPath, key: creds.otherCaClientKeyPath } });
    try {
      const results = await h.send({ tokens: deviceTokens(100, 'wrong-client-cert') });
      assert.deepEqual(tally(results), { 'credentials:ClientCertificateRefused': 100 });
      assert.equal(h.mock.requests.length, 0);
      assert.ok(h.mock.tlsFailures.length >= 1 && h.mock.tlsFailures.length <= 2, `${h.mock.tlsFailures.length} handshakes`);
      assert.deepEqual(h.provider.health(APP_ID), { ok: false, detail: 'credentials refused by APNs: ClientCertificateRefused' });
      assert.deepEqual(h.provider.refusedCredentials(), [{ app: APP_ID, detail: 'credentials refused by APNs: ClientCertificateRefused' }]);
    } finally {
      await h.close();
    }
  });

  it('nobody listening: retry with ConnectFailed', async () => {
    const port = await closedPort();
    const h = await startHarness({ mode: 'token', apns: { endpoint: { host: '127.0.0.1', port } } });
    try {
      const results = await h.send({ tokens: deviceTokens(20, 'refused-port') });
      assert.deepEqual(tally(results), { 'retry:ConnectFailed': 20 });
    } finally {
      await h.close();
    }
  });
});

/** A port that was just free: nothing listens on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}
