import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ApnsConfig } from '../../src/config/schema.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { runCli, startHeraldProcess } from '../helpers/herald-process.js';
import type { CliResult } from '../helpers/herald-process.js';
import { waitFor } from '../helpers/wait.js';
import { credentialBlock } from './apns-harness.js';
import type { AuthMode } from './apns-harness.js';

let creds: TestCredentials;
let dir: string;
before(async () => {
  creds = await testCredentials();
  dir = mkdtempSync(join(tmpdir(), 'herald-apns-check-'));
});

/** An app whose APNs endpoint is a local port (nothing needs to listen there for `check`). */
function appWith(id: string, apns: Partial<ApnsConfig>, port = 2197): Record<string, unknown> {
  return { id, key: `${id}-key`, secret: `${id}-secret-123`, apns: { topic: creds.bundleId, production: false, endpoint: { host: '127.0.0.1', port, ca: creds.caCertPath }, ...apns } };
}

function writeConfig(name: string, apps: Array<Record<string, unknown>>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ apps }));
  return file;
}

function runCheck(file: string): Promise<CliResult> {
  return runCli(['check', '--config', file]);
}

describe('herald check with APNs credentials', () => {
  for (const mode of ['pem', 'encrypted-pem', 'pkcs12'] as const satisfies readonly AuthMode[]) {
    it(`prints subject, topics, environment and expiry for ${mode} credentials`, async () => {
      const file = writeConfig(`good-${mode}`, [appWith('shop', credentialBlock(creds, mode))]);
      const res = await runCheck(file);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /app shop: key shop-key, enabled, APNs certificate \((PEM|PKCS#12)\), topic com\.example\.app, development/);
      assert.match(res.stdout, /subject: UID=com\.example\.app, CN=Apple Development IOS Push Services: com\.example\.app, OU=TEAM123456, O=Example Corp, C=US/);
      assert.match(res.stdout, /topics: com\.example\.app, com\.example\.app\.voip, com\.example\.app\.complication/);
      assert.match(res.stdout, /environment: development \(certificate\), development \(configured\)/);
      assert.match(res.stdout, /expires: \d{4}-\d\d-\d\dT[\d:.]+Z \(in 36[3-5] days\)/);
      assert.doesNotMatch(res.stdout + res.stderr, new RegExp(creds.passphrase));
    });
  }

  it('prints the token key, key id and team for token auth', async () => {
    const file = writeConfig('good-token', [appWith('watch', credentialBlock(creds, 'token'))]);
    const res = await runCheck(file);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /auth: token, ES256 key .*AuthKey_ABC123DEFG\.p8, key id ABC123DEFG, team TEAM123456/);
    assert.match(res.stdout, /environment: development \(configured\)/);
  });

  it('warns about a certificate expiring within 30 days', async () => {
    const file = writeConfig('soon', [appWith('shop', { cert: creds.soonExpiringClientCertPath, key: creds.soonExpiringClientKeyPath })]);
    const res = await runCheck(file);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /warning: certificate .*soon\.crt expires in (8|9|10) days/);
  });

  const broken: Array<[string, () => Partial<ApnsConfig>, RegExp]> = [
    ['a wrong passphrase', () => ({ cert: creds.clientCertPath, key: creds.encryptedClientKeyPath, passphrase: 'not-it' }), /app broken: .*client\.enc\.key: wrong passphrase for the private key/],
    ['a wrong PKCS#12 passphrase', () => ({ pfx: creds.pfxPath, passphrase: 'not-it' }), /app broken: .*client\.p12: wrong passphrase for the PKCS#12 bundle/],
    ['a missing passphrase', () => ({ pfx: creds.pfxPath }), /app broken: .*client\.p12: the PKCS#12 bundle is encrypted and no passphrase is configured/],
    ['an unreadable file', () => ({ cert: join(dir, 'missing.crt'), key: creds.clientKeyPath }), /app broken: .*missing\.crt: cannot read the certificate: ENOENT/],
    ['a key that does not match', () => ({ cert: creds.clientCertPath, key: creds.mismatchedKeyPath }), /app broken: .*mismatched\.key: the private key does not match the certificate/],
    ['an expired certificate', () => ({ cert: creds.expiredClientCertPath, key: creds.expiredClientKeyPath }), /app broken: .*expired\.crt: certificate expired on/],
    ['the other environment', () => ({ cert: creds.clientCertPath, key: creds.clientKeyPath, production: true }), /app broken: .*client\.crt: certificate is for development but the app is configured for production/],
    ['a topic the certificate does not carry', () => ({ cert: creds.clientCertPath, key: creds.clientKeyPath, topic: 'com.other.app' }), /app broken: .*topic com\.other\.app is not one of the certificate's topics/],
    ['an RSA key given as token key', () => ({ token: { key: creds.clientKeyPath, keyId: creds.keyId, teamId: creds.teamId } }), /app broken: .*client\.key: token key must be an ES256/],
  ];
  for (const [what, apns, message] of broken) {
    it(`exits 1 naming the app and file on ${what}`, async () => {
      const file = writeConfig(`broken-${what.replace(/\W+/g, '-')}`, [appWith('fine', credentialBlock(creds, 'pem')), appWith('broken', apns())]);
      const res = await runCheck(file);
      assert.equal(res.code, 1, res.stdout);
      assert.match(res.stderr, message);
      assert.match(res.stdout, /app fine: .*\n(.*\n)*\s+subject: UID=com\.example\.app/, 'the good app is still described');
      assert.doesNotMatch(res.stdout + res.stderr, /not-it/, 'the passphrase is never printed');
    });
  }
});

describe('herald start with APNs apps', () => {
  let mock: ApnsMock;
  before(async () => {
    mock = await ApnsMock.start({ credentials: creds, auth: 'certificate' });
  });
  after(() => mock.close());

  it('logs the credentials, exports expiry and reports readiness', async () => {
    const herald = await startHeraldProcess({
      config: { apps: [appWith('shop', credentialBlock(creds, 'pkcs12'), mock.port)] },
    });
    try {
      const loaded = herald.logs().find((line) => line.msg === 'apns credentials loaded');
      assert.ok(loaded, herald.lines.join('\n'));
      assert.equal(loaded.app, 'shop');
      assert.match(String(loaded.subject), /^UID=com\.example\.app, CN=Apple Development IOS Push Services/);
      assert.deepEqual(loaded.topics, creds.topics);
      assert.equal(loaded.environment, 'development');
      assert.doesNotMatch(herald.lines.join('\n'), new RegExp(creds.passphrase));
      const ready = await waitFor(async () => {
        const res = await fetch(`${herald.baseUrl}/ready`);
        return (await res.json()) as { ready: boolean; checks: Record<string, { ok: boolean }>; warnings: unknown[] };
      });
      assert.equal(ready.ready, true);
      assert.deepEqual(ready.warnings, [], 'no app has refused credentials');
      const metrics = await (await fetch(`http://127.0.0.1:${herald.metricsPort}/metrics`)).text();
      assert.match(metrics, /herald_apns_certificate_expiry_timestamp_seconds\{app="shop"\} \d{10}/);
      assert.match(metrics, /herald_apns_credentials_ok\{app="shop"\} 1/);
      assert.match(metrics, /herald_push_credentials_ok\{provider="apns",app="shop"\} 1/);
    } finally {
      await herald.stop();
    }
  });

  it('warns at start-up about a certificate expiring within 30 days', async () => {
    const herald = await startHeraldProcess({ config: { apps: [appWith('soon', { cert: creds.soonExpiringClientCertPath, key: creds.soonExpiringClientKeyPath }, mock.port)] } });
    try {
      const warning = herald.logs().find((line) => line.msg === 'apns certificate expires soon');
      assert.ok(warning, herald.lines.join('\n'));
      assert.equal(warning.app, 'soon');
      assert.equal(warning.level, 40);
      assert.ok(Number(warning.daysLeft) >= 8 && Number(warning.daysLeft) <= 10);
    } finally {
      await herald.stop();
    }
  });

  it('refuses to start on unusable credentials, naming the app and the file', async () => {
    await assert.rejects(
      startHeraldProcess({ config: { apps: [appWith('broken', { pfx: creds.pfxPath, passphrase: 'not-it' })] } }),
      (err: Error) => /app broken: .*client\.p12: wrong passphrase/.test(err.message) && !/not-it/.test(err.message),
    );
  });
});
