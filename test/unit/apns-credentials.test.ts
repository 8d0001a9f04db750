import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import type { AppApnsConfig } from '../../src/config/load.js';
import { isHeraldError } from '../../src/errors.js';
import { describeCertificate, supportsEnvironment } from '../../src/providers/apns/certificate-info.js';
import { APPLE_HOSTS, loadApnsCredentials } from '../../src/providers/apns/credentials.js';
import { readCertificateFields } from '../../src/providers/apns/der.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';

let creds: TestCredentials;
before(async () => {
  creds = await testCredentials();
});

const base = { production: false, topic: 'com.example.app', maxConcurrentStreams: 500, connections: 1, maxAttempts: 5, requestTimeoutMs: 10_000, pingIntervalMs: 15_000 };
const load = (apns: Partial<AppApnsConfig>, now?: number) => loadApnsCredentials('shop', { ...base, ...apns } as AppApnsConfig, now);

function refusal(apns: Partial<AppApnsConfig>): string {
  try {
    load(apns);
  } catch (err) {
    assert.ok(isHeraldError(err, 'HERALD_CREDENTIALS_INVALID'), String(err));
    return err.message;
  }
  assert.fail('expected HERALD_CREDENTIALS_INVALID');
}

describe('APNs credentials', () => {
  it('reads a PEM certificate: subject, topics, environment, expiry; Apple\'s sandbox by default', () => {
    const c = load({ cert: creds.clientCertPath, key: creds.clientKeyPath });
    assert.equal(c.auth.mode, 'certificate');
    if (c.auth.mode !== 'certificate') return;
    assert.equal(c.auth.format, 'pem');
    assert.equal(c.auth.certificate.subject, 'UID=com.example.app, CN=Apple Development IOS Push Services: com.example.app, OU=TEAM123456, O=Example Corp, C=US');
    assert.deepEqual(c.auth.certificate.topics, creds.topics);
    assert.equal(c.auth.certificate.environment, 'development');
    const x509 = new X509Certificate(c.auth.tls && 'cert' in c.auth.tls ? c.auth.tls.cert : Buffer.alloc(0));
    assert.equal(c.auth.certificate.notAfter.getTime(), Date.parse(x509.validTo));
    assert.equal(c.auth.certificate.notBefore.getTime(), Date.parse(x509.validFrom));
    assert.deepEqual({ host: c.endpoint.host, port: c.endpoint.port }, { host: APPLE_HOSTS.development, port: 443 });
    assert.deepEqual(c.warnings, []);
  });

  it('opens an encrypted key and a PKCS#12 bundle with the passphrase; both share the pool of the same certificate', () => {
    const pem = load({ cert: creds.clientCertPath, key: creds.clientKeyPath });
    const encrypted = load({ cert: creds.clientCertPath, key: creds.encryptedClientKeyPath, passphrase: creds.passphrase });
    const p12 = load({ pfx: creds.pfxPath, passphrase: creds.passphrase });
    assert.equal(p12.auth.mode === 'certificate' && p12.auth.format, 'pkcs12');
    assert.equal(encrypted.poolKey, pem.poolKey);
    assert.equal(p12.poolKey, pem.poolKey);
    assert.deepEqual(p12.auth.mode === 'certificate' && p12.auth.certificate.topics, creds.topics);
  });

  it('keys token credentials by team and key, and keeps endpoints apart', () => {
    const token = { key: creds.p8Path, keyId: creds.keyId, teamId: creds.teamId };
    const a = load({ token });
    const b = load({ token, production: true });
    assert.match(a.poolKey, /^token:TEAM123456:ABC123DEFG:[0-9a-f]{16}@api\.sandbox\.push\.apple\.com:443$/);
    assert.notEqual(a.poolKey, b.poolKey);
    assert.equal(b.endpoint.host, APPLE_HOSTS.production);
    const other = load({ token: { ...token, key: creds.otherP8Path } });
    assert.notEqual(other.poolKey, a.poolKey, 'a different key under the same ids never shares connections');
    const local = load({ token, endpoint: { host: '127.0.0.1', port: 8443, ca: creds.caCertPath } });
    assert.deepEqual({ host: local.endpoint.host, port: local.endpoint.port, ca: local.endpoint.ca?.toString() }, { host: '127.0.0.1', port: 8443, ca: creds.caCert });
  });

  it('warns when the certificate expires within 30 days', () => {
    const c = load({ cert: creds.soonExpiringClientCertPath, key: creds.soonExpiringClientKeyPath });
    assert.equal(c.warnings.length, 1);
    assert.match(c.warnings[0] ?? '', /soon\.crt expires in (8|9|10) days/);
  });

  const cases: Array<[string, () => Partial<AppApnsConfig>, RegExp]> = [
    ['an unreadable certificate', () => ({ cert: '/nonexistent/cert.pem', key: creds.clientKeyPath }), /^app shop: \/nonexistent\/cert\.pem: cannot read the certificate: ENOENT$/],
    ['a file that is not a certificate', () => ({ cert: creds.clientKeyPath, key: creds.clientKeyPath }), /client\.key: not a PEM certificate/],
    ['a wrong passphrase', () => ({ cert: creds.clientCertPath, key: creds.encryptedClientKeyPath, passphrase: 'wrong' }), /client\.enc\.key: wrong passphrase for the private key$/],
    ['a missing passphrase', () => ({ cert: creds.clientCertPath, key: creds.encryptedClientKeyPath }), /client\.enc\.key: the private key is encrypted and no passphrase is configured$/],
    ['a wrong PKCS#12 passphrase', () => ({ pfx: creds.pfxPath, passphrase: 'wrong' }), /client\.p12: wrong passphrase for the PKCS#12 bundle$/],
    ['a key that does not match the certificate', () => ({ cert: creds.clientCertPath, key: creds.mismatchedKeyPath }), /mismatched\.key: the private key does not match the certificate \(UID=com\.example\.app/],
    ['an expired certificate', () => ({ cert: creds.expiredClientCertPath, key: creds.expiredClientKeyPath }), /expired\.crt: certificate expired on \d{4}-/],
    ['a development certificate used for production', () => ({ cert: creds.clientCertPath, key: creds.clientKeyPath, production: true }), /certificate is for development but the app is configured for production/],
    ['a topic missing from the certificate', () => ({ cert: creds.clientCertPath, key: creds.clientKeyPath, topic: 'com.example.other' }), /topic com\.example\.other is not one of the certificate's topics \(com\.example\.app, /],
    ['an unreadable endpoint CA', () => ({ cert: creds.clientCertPath, key: creds.clientKeyPath, endpoint: { host: 'h', port: 1, ca: '/nonexistent/ca.pem' } }), /\/nonexistent\/ca\.pem: cannot read the endpoint CA file: ENOENT/],
    ['a token key that is not EC P-256', () => ({ token: { key: creds.clientKeyPath, keyId: creds.keyId, teamId: creds.teamId } }), /client\.key: token key must be an ES256 \(P-256\) key/],
    ['a token key that is not a key', () => ({ token: { key: creds.clientCertPath, keyId: creds.keyId, teamId: creds.teamId } }), /client\.crt: not a readable private key/],
  ];
  for (const [what, apns, message] of cases) {
    it(`refuses ${what}, naming the app and the file`, () => {
      const text = refusal(apns());
      assert.match(text, /^app shop: /);
      assert.match(text, message);
      assert.doesNotMatch(text, /wrong\b.*wrong|herald-test-passphrase/, 'no passphrase in the message');
    });
  }

  it('refuses a certificate that is not yet valid', () => {
    const notAfter = Date.now() + 400 * 86_400_000;
    assert.throws(() => load({ cert: creds.clientCertPath, key: creds.clientKeyPath }, Date.now() - 400 * 86_400_000), /not valid before/);
    assert.throws(() => load({ cert: creds.clientCertPath, key: creds.clientKeyPath }, notAfter), /certificate expired/);
  });
});

describe('certificate fields', () => {
  function selfSigned(subject: forge.pki.CertificateField[], extensions: object[]): X509Certificate {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    cert.serialNumber = '01';
    cert.validity.notBefore = new Date('2049-12-31T23:59:59Z');
    cert.validity.notAfter = new Date('2050-01-02T00:00:00Z');
    cert.setSubject(subject);
    cert.setIssuer(subject);
    cert.setExtensions(extensions);
    cert.sign(key, forge.md.sha256.create());
    return new X509Certificate(forge.pki.certificateToPem(cert));
  }
  const nullValue = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.NULL, false, '');

  it('falls back to the subject UID for topics and reads the production marker', () => {
    const info = describeCertificate(selfSigned([{ type: '0.9.2342.19200300.100.1.1', value: 'com.single.app' }, { name: 'commonName', value: 'Apple Push Services: com.single.app' }], [{ id: '1.2.840.113635.100.6.3.2', value: nullValue }]));
    assert.deepEqual(info.topics, ['com.single.app']);
    assert.equal(info.environment, 'production');
    // UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280).
    assert.equal(info.notBefore.toISOString(), '2049-12-31T23:59:59.000Z');
    assert.equal(info.notAfter.toISOString(), '2050-01-02T00:00:00.000Z');
  });

  it('reports both environments for a universal certificate and none for a plain one', () => {
    const both = describeCertificate(selfSigned([{ name: 'commonName', value: 'x' }], [{ id: '1.2.840.113635.100.6.3.1', value: nullValue }, { id: '1.2.840.113635.100.6.3.2', value: nullValue }]));
    assert.equal(both.environment, 'development+production');
    assert.deepEqual(both.topics, []);
    const plain = describeCertificate(selfSigned([{ name: 'commonName', value: 'y' }], []));
    assert.equal(plain.environment, 'unknown');
    assert.equal(supportsEnvironment('development+production', true), true);
    assert.equal(supportsEnvironment('unknown', true), true);
    assert.equal(supportsEnvironment('production', false), false);
  });

  it('rejects truncated DER instead of reading past it', () => {
    const der = selfSigned([{ name: 'commonName', value: 'z' }], []).raw;
    assert.throws(() => readCertificateFields(der.subarray(0, der.length - 20)), /truncated DER/);
  });
});
