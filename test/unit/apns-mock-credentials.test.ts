import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import forge from 'node-forge';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { certificateTopics } from '../fixtures/apns/apns-validation.js';

let creds: TestCredentials;
before(async () => {
  creds = await testCredentials();
});

describe('test credentials', () => {
  it('client certificate looks like an Apple development push certificate', () => {
    const cert = new X509Certificate(readFileSync(creds.clientCertPath));
    assert.equal(cert.subject, 'UID=com.example.app\nCN=Apple Development IOS Push Services: com.example.app\nOU=TEAM123456\nO=Example Corp\nC=US');
    assert.ok(cert.checkIssued(new X509Certificate(creds.caCert)) && cert.verify(new X509Certificate(creds.caCert).publicKey));
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    const daysLeft = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    assert.ok(daysLeft > 360 && daysLeft <= 365, `valid for ${daysLeft} more days`);
    assert.deepEqual(certificateTopics(cert.raw), ['com.example.app', 'com.example.app.voip', 'com.example.app.complication']);
    // The development marker is an extension whose OID bytes appear in the DER.
    assert.ok(cert.raw.includes(Buffer.from('060a2a864886f76364060301040205' + '00', 'hex')), 'development extension (OID, NULL value) present');
    assert.ok(cert.checkPrivateKey(createPrivateKey(readFileSync(creds.clientKeyPath))));
    assert.ok(!cert.checkPrivateKey(createPrivateKey(readFileSync(creds.mismatchedKeyPath))));
  });

  it('expired, soon-expiring and other-CA certificates are what they claim', () => {
    const ca = new X509Certificate(creds.caCert);
    const expired = new X509Certificate(readFileSync(creds.expiredClientCertPath));
    assert.ok(Date.parse(expired.validTo) < Date.now() && expired.checkIssued(ca));
    const soon = new X509Certificate(readFileSync(creds.soonExpiringClientCertPath));
    const soonDays = (Date.parse(soon.validTo) - Date.now()) / 86_400_000;
    assert.ok(soonDays > 9 && soonDays <= 10, `soon-expiring has ${soonDays} days`);
    assert.ok(soon.checkPrivateKey(createPrivateKey(readFileSync(creds.soonExpiringClientKeyPath))));
    const other = new X509Certificate(readFileSync(creds.otherCaClientCertPath));
    assert.ok(!other.checkIssued(ca) && other.checkIssued(new X509Certificate(readFileSync(creds.otherCaCertPath))));
    const server = new X509Certificate(creds.serverCert);
    assert.equal(server.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
  });

  it('PKCS#12 bundles and the encrypted key open with the passphrase only (legacy bundle: not in node); .p8 signs ES256 P1363', async () => {
    for (const pfxPath of [creds.pfxPath, creds.opensslPfxPath]) {
      const pfx = readFileSync(pfxPath);
      createSecureContext({ pfx, passphrase: creds.passphrase });
      assert.throws(() => createSecureContext({ pfx, passphrase: 'wrong' }), /mac verify failure/);
    }
    const legacy = readFileSync(creds.legacyPfxPath);
    assert.throws(() => createSecureContext({ pfx: legacy, passphrase: creds.passphrase }), /Unsupported PKCS12/);
    const certBag = forge.pki.oids.certBag ?? '';
    const legacyBags = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(legacy.toString('binary')), creds.passphrase).getBags({ bagType: certBag });
    assert.equal(legacyBags[certBag]?.length, 2, 'the legacy bundle itself is sound');
    createPrivateKey({ key: readFileSync(creds.encryptedClientKeyPath), passphrase: creds.passphrase });
    assert.throws(() => createPrivateKey({ key: readFileSync(creds.encryptedClientKeyPath), passphrase: 'wrong' }));
    const p8 = createPrivateKey(readFileSync(creds.p8Path));
    assert.equal(p8.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const signature = sign('sha256', Buffer.from('x'), { key: p8, dsaEncoding: 'ieee-p1363' });
    assert.equal(signature.length, 64);
    assert.ok(verify('sha256', Buffer.from('x'), { key: createPublicKey(p8), dsaEncoding: 'ieee-p1363' }, signature));
    assert.equal(await testCredentials(), creds, 'cached per process');
  });
});
