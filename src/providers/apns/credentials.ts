import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { AppApnsConfig } from '../../config/load.js';
import { HeraldError } from '../../errors.js';
import { describeCertificate, firstCertificate, supportsEnvironment } from './certificate-info.js';
import type { CertificateInfo } from './certificate-info.js';
import { openPkcs12 } from './pkcs12.js';

export const APPLE_HOSTS = { production: 'api.push.apple.com', development: 'api.sandbox.push.apple.com' } as const;
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

export interface ApnsEndpoint {
  readonly host: string;
  readonly port: number;
  /** Trusted CA for the endpoint's server certificate; Node's default store when absent. */
  readonly ca?: Buffer;
  readonly production: boolean;
}

export interface CertificateAuth {
  readonly mode: 'certificate';
  readonly format: 'pem' | 'pkcs12';
  /** The certificate file (PEM) or the bundle (PKCS#12). */
  readonly file: string;
  readonly keyFile?: string;
  /** Exactly what node's TLS takes. */
  readonly tls: { readonly cert: Buffer; readonly key: Buffer; readonly passphrase?: string } | { readonly pfx: Buffer; readonly passphrase?: string };
  readonly certificate: CertificateInfo;
}

export interface TokenAuth {
  readonly mode: 'token';
  readonly file: string;
  readonly key: KeyObject;
  readonly keyId: string;
  readonly teamId: string;
}

export interface ApnsCredentials {
  readonly app: string;
  readonly topic: string;
  readonly endpoint: ApnsEndpoint;
  readonly auth: CertificateAuth | TokenAuth;
  /**
   * Identifies one credential on one endpoint: apps with the same key share connections;
   * different ones never do (Apple refuses pushes of several accounts on one connection).
   */
  readonly poolKey: string;
  /** Non-fatal findings, e.g. a certificate expiring within 30 days. */
  readonly warnings: readonly string[];
}

/**
 * Opens and checks one app's APNs credentials. Throws HERALD_CREDENTIALS_INVALID naming
 * the app and the file for anything that would make every push fail: unreadable file,
 * wrong or missing passphrase, key not matching the certificate, expired or not yet
 * valid certificate, certificate for the other environment or another topic.
 */
export function loadApnsCredentials(appId: string, apns: AppApnsConfig, now: number = Date.now()): ApnsCredentials {
  const fail = (file: string | undefined, problem: string): never => {
    throw new HeraldError('HERALD_CREDENTIALS_INVALID', `app ${appId}: ${file ? `${resolve(file)}: ` : ''}${problem}`);
  };
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      return fail(file, `cannot read the ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };

  const endpoint: ApnsEndpoint = {
    host: apns.endpoint?.host ?? (apns.production ? APPLE_HOSTS.production : APPLE_HOSTS.development),
    port: apns.endpoint?.port ?? 443,
    production: apns.production,
    ...(apns.endpoint?.ca === undefined ? {} : { ca: read(apns.endpoint.ca, 'endpoint CA file') }),
  };
  const where = `${endpoint.host}:${endpoint.port}`;

  if (apns.token) {
    const file = apns.token.key;
    let key: KeyObject;
    try {
      key = createPrivateKey(read(file, 'token key (.p8)'));
    } catch (err) {
      if (err instanceof HeraldError) throw err;
      return fail(file, `not a readable private key: ${(err as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      fail(file, `token key must be an ES256 (P-256) key as Apple issues in AuthKey_${apns.token.keyId}.p8`);
    }
    const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
    const keyHash = createHash('sha256').update(spki).digest('hex').slice(0, 16);
    return {
      app: appId,
      topic: apns.topic,
      endpoint,
      auth: { mode: 'token', file: resolve(file), key, keyId: apns.token.keyId, teamId: apns.token.teamId },
      poolKey: `token:${apns.token.teamId}:${apns.token.keyId}:${keyHash}@${where}`,
      warnings: [],
    };
  }

  let auth: CertificateAuth;
  let certificate: X509Certificate;
  let privateKey: KeyObject | undefined;
  const passphrase = apns.passphrase;
  const withPassphrase = passphrase === undefined ? {} : { passphrase };
  if (apns.pfx !== undefined) {
    const file = apns.pfx;
    const pfx = read(file, 'PKCS#12 bundle');
    try {
      createSecureContext({ pfx, ...withPassphrase });
    } catch (err) {
      return fail(file, describeKeyError(err, passphrase, 'PKCS#12 bundle'));
    }
    let contents;
    try {
      contents = openPkcs12(pfx, passphrase);
    } catch (err) {
      return fail(file, `cannot read the certificate inside the PKCS#12 bundle: ${(err as Error).message}`);
    }
    privateKey = contents.privateKey;
    const leaf = (privateKey && contents.certificates.find((cert) => sameKey(cert, privateKey as KeyObject))) ?? contents.certificates[0];
    if (!leaf) return fail(file, 'the PKCS#12 bundle holds no certificate');
    certificate = leaf;
    auth = { mode: 'certificate', format: 'pkcs12', file: resolve(file), tls: { pfx, ...withPassphrase }, certificate: describe(file, leaf) };
  } else {
    const certFile = apns.cert ?? fail(undefined, 'no APNs certificate configured');
    const keyFile = apns.key ?? fail(undefined, 'no APNs key configured');
    const cert = read(certFile, 'certificate');
    const key = read(keyFile, 'private key');
    try {
      certificate = firstCertificate(cert);
    } catch (err) {
      return fail(certFile, `not a PEM certificate: ${(err as Error).message}`);
    }
    try {
      privateKey = createPrivateKey({ key, ...withPassphrase });
    } catch (err) {
      return fail(keyFile, describeKeyError(err, passphrase, 'private key'));
    }
    auth = { mode: 'certificate', format: 'pem', file: resolve(certFile), keyFile: resolve(keyFile), tls: { cert, key, ...withPassphrase }, certificate: describe(certFile, certificate) };
  }

  if (privateKey && !sameKey(certificate, privateKey)) {
    fail(auth.keyFile ?? auth.file, `the private key does not match the certificate (${auth.certificate.subject})`);
  }
  const info = auth.certificate;
  if (info.notAfter.getTime() <= now) fail(auth.file, `certificate expired on ${info.notAfter.toISOString()} (${info.subject})`);
  if (info.notBefore.getTime() > now) fail(auth.file, `certificate is not valid before ${info.notBefore.toISOString()}`);
  if (!supportsEnvironment(info.environment, apns.production)) {
    fail(auth.file, `certificate is for ${info.environment} but the app is configured for ${apns.production ? 'production' : 'development'}`);
  }
  if (info.topics.length > 0 && !info.topics.includes(apns.topic)) {
    fail(auth.file, `topic ${apns.topic} is not one of the certificate's topics (${info.topics.join(', ')})`);
  }
  const warnings: string[] = [];
  const daysLeft = Math.floor((info.notAfter.getTime() - now) / DAY_MS);
  if (daysLeft < EXPIRY_WARNING_DAYS) warnings.push(`certificate ${auth.file} expires in ${daysLeft} days (${info.notAfter.toISOString()})`);
  return { app: appId, topic: apns.topic, endpoint, auth, poolKey: `cert:${info.fingerprint}@${where}`, warnings };

  function describe(file: string, cert: X509Certificate): CertificateInfo {
    try {
      return describeCertificate(cert);
    } catch (err) {
      return fail(file, `cannot read the certificate's fields: ${(err as Error).message}`);
    }
  }
}

function sameKey(certificate: X509Certificate, privateKey: KeyObject): boolean {
  const fromCert = certificate.publicKey.export({ type: 'spki', format: 'der' });
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return fromCert.equals(fromKey);
}

function describeKeyError(err: unknown, passphrase: string | undefined, what: string): string {
  const message = (err as Error).message ?? String(err);
  const code = (err as NodeJS.ErrnoException).code ?? '';
  // OpenSSL reports a missing passphrase as an interrupted prompt.
  if (code === 'ERR_MISSING_PASSPHRASE' || /passphrase required|interrupted or cancelled/i.test(message)) return `the ${what} is encrypted and no passphrase is configured`;
  if (/bad decrypt|mac verify|wrong password|BAD_DECRYPT|MAC_VERIFY/i.test(`${message} ${code}`)) {
    return passphrase === undefined ? `the ${what} is encrypted and no passphrase is configured` : `wrong passphrase for the ${what}`;
  }
  return `cannot open the ${what}: ${message}`;
}

/** Days until the certificate expires (negative once expired); undefined in token mode. */
export function daysUntilExpiry(credentials: ApnsCredentials, now: number = Date.now()): number | undefined {
  return credentials.auth.mode === 'certificate' ? Math.floor((credentials.auth.certificate.notAfter.getTime() - now) / DAY_MS) : undefined;
}
