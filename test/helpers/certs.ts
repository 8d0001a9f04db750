import { execFileSync } from 'node:child_process';
import { generateKeyPair, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';

export interface TestCredentials {
  dir: string;
  /** Test CA (PEM) that signs the server and every client certificate except the other-CA one. */
  caCert: string; caCertPath: string;
  /** CN=localhost, SAN DNS:localhost and IP:127.0.0.1, signed by the test CA. */
  serverCert: string; serverKey: string;
  /** RSA 2048 client certificate shaped like Apple's development push certificate, valid 365 days. */
  clientCertPath: string; clientKeyPath: string;
  /** The client key as an encrypted PKCS#8 PEM, opened with `passphrase`. */
  encryptedClientKeyPath: string; passphrase: string;
  /** PKCS#12 bundle of the client certificate and key, protected by `passphrase`. */
  pfxPath: string;
  /** The same bundle as `openssl pkcs12 -export` (OpenSSL 3 defaults: AES-256-CBC, PBKDF2, SHA-256 MAC) writes it. */
  opensslPfxPath: string;
  /**
   * The same bundle in the legacy format (RC2-40 certificate bag, 3DES key) of OpenSSL 1.x
   * and older Keychain Access exports: node's TLS refuses it ("Unsupported PKCS12 PFX data").
   */
  legacyPfxPath: string;
  expiredClientCertPath: string; expiredClientKeyPath: string;
  soonExpiringClientCertPath: string; soonExpiringClientKeyPath: string;
  otherCaClientCertPath: string; otherCaClientKeyPath: string;
  /** A CA unrelated to the test CA: it signed the other-CA client cert and does not trust the mock's server cert. */
  otherCaCertPath: string;
  mismatchedKeyPath: string;
  /** ES256 key as PKCS#8 PEM, the way Apple hands out AuthKey_<keyId>.p8. */
  p8Path: string; keyId: string; teamId: string;
  /** An ES256 key the mock does not know, under the same keyId/teamId. */
  otherP8Path: string;
  bundleId: string;
  /** The topics written into the client certificate's topics extension. */
  topics: string[];
}

/** Bump when the shape or content of the generated files changes: it keys the cross-process cache. */
const VERSION = 'v2';
const BUNDLE_ID = 'com.example.app';
const TEAM_ID = 'TEAM123456';
const KEY_ID = 'ABC123DEFG';
const PASSPHRASE = 'herald-test-passphrase';
const DAY_MS = 86_400_000;

/** Apple's OIDs: development push certificate marker, production marker, and the topics list. */
export const AppleOids = {
  development: '1.2.840.113635.100.6.3.1',
  production: '1.2.840.113635.100.6.3.2',
  topics: '1.2.840.113635.100.6.3.6',
} as const;

const FILES = {
  caCertPath: 'ca.crt', caKey: 'ca.key', serverCert: 'server.crt', serverKey: 'server.key',
  clientCertPath: 'client.crt', clientKeyPath: 'client.key', encryptedClientKeyPath: 'client.enc.key', pfxPath: 'client.p12',
  opensslPfxPath: 'client-openssl3.p12', legacyPfxPath: 'client-legacy.p12',
  expiredClientCertPath: 'expired.crt', expiredClientKeyPath: 'expired.key',
  soonExpiringClientCertPath: 'soon.crt', soonExpiringClientKeyPath: 'soon.key',
  otherCaCertPath: 'other-ca.crt', otherCaClientCertPath: 'other-client.crt', otherCaClientKeyPath: 'other-client.key',
  mismatchedKeyPath: 'mismatched.key', p8Path: `AuthKey_${KEY_ID}.p8`, otherP8Path: 'AuthKey_other.p8',
} as const;

let cached: Promise<TestCredentials> | undefined;

/**
 * Every test credential, generated once per process. Files live in a directory under
 * os.tmpdir() keyed by VERSION and the UTC day (validity windows are relative to "now"),
 * so later test processes of the same day reuse them instead of generating RSA keys again.
 */
export function testCredentials(): Promise<TestCredentials> {
  cached ??= loadOrGenerate();
  return cached;
}

async function loadOrGenerate(): Promise<TestCredentials> {
  const day = new Date().toISOString().slice(0, 10);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dir = join(tmpdir(), `herald-test-credentials-${VERSION}-${uid}-${day}`);
  if (!existsSync(join(dir, 'complete'))) {
    const staging = mkdtempSync(join(tmpdir(), `herald-test-credentials-${VERSION}-staging-`));
    await generateInto(staging);
    writeFileSync(join(staging, 'complete'), day);
    try {
      renameSync(staging, dir);
    } catch {
      // Another process finished first: its set is as good as ours.
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return credentialsIn(dir);
}

function credentialsIn(dir: string): TestCredentials {
  const path = (name: string): string => join(dir, name);
  return {
    dir,
    caCert: readFileSync(path(FILES.caCertPath), 'utf8'), caCertPath: path(FILES.caCertPath),
    serverCert: readFileSync(path(FILES.serverCert), 'utf8'), serverKey: readFileSync(path(FILES.serverKey), 'utf8'),
    clientCertPath: path(FILES.clientCertPath), clientKeyPath: path(FILES.clientKeyPath),
    encryptedClientKeyPath: path(FILES.encryptedClientKeyPath), passphrase: PASSPHRASE, pfxPath: path(FILES.pfxPath),
    opensslPfxPath: path(FILES.opensslPfxPath), legacyPfxPath: path(FILES.legacyPfxPath),
    expiredClientCertPath: path(FILES.expiredClientCertPath), expiredClientKeyPath: path(FILES.expiredClientKeyPath),
    soonExpiringClientCertPath: path(FILES.soonExpiringClientCertPath), soonExpiringClientKeyPath: path(FILES.soonExpiringClientKeyPath),
    otherCaClientCertPath: path(FILES.otherCaClientCertPath), otherCaClientKeyPath: path(FILES.otherCaClientKeyPath),
    otherCaCertPath: path(FILES.otherCaCertPath), mismatchedKeyPath: path(FILES.mismatchedKeyPath),
    p8Path: path(FILES.p8Path), keyId: KEY_ID, teamId: TEAM_ID, otherP8Path: path(FILES.otherP8Path),
    bundleId: BUNDLE_ID, topics: [BUNDLE_ID, `${BUNDLE_ID}.voip`, `${BUNDLE_ID}.complication`],
  };
}

const generateKeyPairAsync = promisify(generateKeyPair);

async function rsaKey(): Promise<KeyObject> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return privateKey;
}

async function ecKey(): Promise<KeyObject> {
  const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
  return privateKey;
}

const pkcs8Pem = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();
const forgeKey = (key: KeyObject): forge.pki.rsa.PrivateKey => forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }).toString());
const forgePublic = (key: KeyObject): forge.pki.PublicKey => forge.pki.publicKeyFromPem(createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString());

interface Issuer { cert: forge.pki.Certificate; key: KeyObject }
interface CertSpec {
  subject: forge.pki.CertificateField[];
  key: KeyObject;
  issuer?: Issuer;              // absent: self-signed CA
  notBefore: Date; notAfter: Date;
  extensions: object[];
}

let serial = 1;
function issue(spec: CertSpec): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublic(spec.key);
  // Random-looking positive serials keep two generated sets from colliding in one trust store.
  cert.serialNumber = `0${Date.now().toString(16)}${(serial++).toString(16).padStart(4, '0')}`;
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  cert.setSubject(spec.subject);
  cert.setIssuer(spec.issuer ? spec.issuer.cert.subject.attributes : spec.subject);
  cert.setExtensions([...spec.extensions, { name: 'subjectKeyIdentifier' }]);
  cert.sign(forgeKey(spec.issuer?.key ?? spec.key), forge.md.sha256.create());
  return cert;
}

const utf8 = (value: string): forge.asn1.Asn1 => forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.UTF8, false, forge.util.encodeUtf8(value));
const sequence = (items: forge.asn1.Asn1[]): forge.asn1.Asn1 => forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, items);

/**
 * Apple's topics extension: SEQUENCE { UTF8String topic, SEQUENCE { UTF8String kind }, ... }
 * where kind is 'app', 'voip', 'complication' and so on.
 */
export function topicsExtensionValue(topics: readonly { topic: string; kind: string }[]): forge.asn1.Asn1 {
  return sequence(topics.flatMap(({ topic, kind }) => [utf8(topic), sequence([utf8(kind)])]));
}

function caCert(commonName: string, key: KeyObject, now: number): forge.pki.Certificate {
  return issue({
    subject: [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'Herald Test' }],
    key, notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 3650 * DAY_MS),
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }],
  });
}

function appleClientCert(key: KeyObject, issuer: Issuer, notBefore: number, notAfter: number): forge.pki.Certificate {
  // forge's typings call valueTagClass a class; forge itself uses it as the value's tag (UTF8String here).
  const utf8Tag = forge.asn1.Type.UTF8 as unknown as forge.asn1.Class;
  return issue({
    subject: [
      { type: '0.9.2342.19200300.100.1.1', value: BUNDLE_ID, valueTagClass: utf8Tag },
      { name: 'commonName', value: `Apple Development IOS Push Services: ${BUNDLE_ID}`, valueTagClass: utf8Tag },
      { name: 'organizationalUnitName', value: TEAM_ID },
      { name: 'organizationName', value: 'Example Corp' },
      { name: 'countryName', value: 'US' },
    ],
    key, issuer, notBefore: new Date(notBefore), notAfter: new Date(notAfter),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
      { id: AppleOids.development, value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.NULL, false, '') },
      {
        id: AppleOids.topics,
        value: topicsExtensionValue([
          { topic: BUNDLE_ID, kind: 'app' }, { topic: `${BUNDLE_ID}.voip`, kind: 'voip' }, { topic: `${BUNDLE_ID}.complication`, kind: 'complication' },
        ]),
      },
    ],
  });
}

function serverCert(key: KeyObject, issuer: Issuer, now: number): forge.pki.Certificate {
  return issue({
    subject: [{ name: 'commonName', value: 'localhost' }],
    key, issuer, notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 365 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
}

function pkcs12(cert: forge.pki.Certificate, key: KeyObject, issuer: forge.pki.Certificate): Buffer {
  const asn = forge.pkcs12.toPkcs12Asn1(forgeKey(key), [cert, issuer], PASSPHRASE, { algorithm: 'aes256', friendlyName: `Apple Development IOS Push Services: ${BUNDLE_ID}` });
  return Buffer.from(forge.asn1.toDer(asn).getBytes(), 'binary');
}

/** Bundles client.crt + client.key with the openssl CLI, the way users make their .p12 files. */
function opensslPkcs12(dir: string, extra: string[]): void {
  const out = join(dir, extra.includes('-legacy') ? FILES.legacyPfxPath : FILES.opensslPfxPath);
  const args = ['pkcs12', '-export', ...extra, '-in', join(dir, FILES.clientCertPath), '-inkey', join(dir, FILES.clientKeyPath),
    '-certfile', join(dir, FILES.caCertPath), '-name', `Apple Development IOS Push Services: ${BUNDLE_ID}`, '-passout', 'env:HERALD_TEST_P12_PASS', '-out', out];
  try {
    execFileSync('openssl', args, { env: { ...process.env, HERALD_TEST_P12_PASS: PASSPHRASE }, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? String(error);
    throw new Error(`test credentials need the openssl CLI (OpenSSL 3) for ${out}: ${detail}`, { cause: error });
  }
}

async function generateInto(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  const [caKey, otherCaKey, serverKey, clientKey, expiredKey, soonKey, otherClientKey, mismatchedKey, p8, otherP8] = await Promise.all([
    rsaKey(), rsaKey(), rsaKey(), rsaKey(), rsaKey(), rsaKey(), rsaKey(), rsaKey(), ecKey(), ecKey(),
  ]);
  const ca: Issuer = { cert: caCert('Herald Test CA', caKey, now), key: caKey };
  const otherCa: Issuer = { cert: caCert('Herald Unrelated CA', otherCaKey, now), key: otherCaKey };
  const client = appleClientCert(clientKey, ca, now - DAY_MS, now + 365 * DAY_MS);
  const write = (name: string, content: string | Buffer): void => writeFileSync(join(dir, name), content, { mode: 0o600 });
  const certPem = (cert: forge.pki.Certificate): string => forge.pki.certificateToPem(cert);

  write(FILES.caCertPath, certPem(ca.cert));
  write(FILES.caKey, pkcs8Pem(caKey));
  write(FILES.otherCaCertPath, certPem(otherCa.cert));
  write(FILES.serverCert, certPem(serverCert(serverKey, ca, now)));
  write(FILES.serverKey, pkcs8Pem(serverKey));
  write(FILES.clientCertPath, certPem(client));
  write(FILES.clientKeyPath, pkcs8Pem(clientKey));
  write(FILES.encryptedClientKeyPath, clientKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }).toString());
  write(FILES.pfxPath, pkcs12(client, clientKey, ca.cert));
  opensslPkcs12(dir, []);
  opensslPkcs12(dir, ['-legacy']);
  write(FILES.expiredClientCertPath, certPem(appleClientCert(expiredKey, ca, now - 366 * DAY_MS, now - DAY_MS)));
  write(FILES.expiredClientKeyPath, pkcs8Pem(expiredKey));
  write(FILES.soonExpiringClientCertPath, certPem(appleClientCert(soonKey, ca, now - 355 * DAY_MS, now + 10 * DAY_MS)));
  write(FILES.soonExpiringClientKeyPath, pkcs8Pem(soonKey));
  write(FILES.otherCaClientCertPath, certPem(appleClientCert(otherClientKey, otherCa, now - DAY_MS, now + 365 * DAY_MS)));
  write(FILES.otherCaClientKeyPath, pkcs8Pem(otherClientKey));
  write(FILES.mismatchedKeyPath, pkcs8Pem(mismatchedKey));
  write(FILES.p8Path, pkcs8Pem(p8));
  write(FILES.otherP8Path, pkcs8Pem(otherP8));
  // Fail here, not in a test far away, if a generated key cannot be read back.
  createPrivateKey(readFileSync(join(dir, FILES.p8Path)));
}
