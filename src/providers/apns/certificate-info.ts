import { X509Certificate } from 'node:crypto';
import { readCertificateFields, topLevelStrings } from './der.js';

/** Apple's certificate extensions: environment markers and the topics list of universal certificates. */
export const AppleCertificateOids = {
  development: '1.2.840.113635.100.6.3.1',
  production: '1.2.840.113635.100.6.3.2',
  topics: '1.2.840.113635.100.6.3.6',
} as const;

export type CertificateEnvironment = 'development' | 'production' | 'development+production' | 'unknown';

export interface CertificateInfo {
  /** Subject as one line, e.g. `UID=com.example.app, CN=Apple Development IOS Push Services: …`. */
  readonly subject: string;
  /** From Apple's topics extension; otherwise the subject's UID; empty when neither exists. */
  readonly topics: readonly string[];
  readonly environment: CertificateEnvironment;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 fingerprint, colon-separated: keys the connection pool. */
  readonly fingerprint: string;
}

export function describeCertificate(certificate: X509Certificate): CertificateInfo {
  const fields = readCertificateFields(certificate.raw);
  const subjectParts = certificate.subject.split('\n').filter((line) => line !== '');
  const uid = subjectParts.find((part) => part.startsWith('UID='))?.slice(4);
  const topicsValue = fields.extensions.get(AppleCertificateOids.topics);
  const topics = topicsValue ? topLevelStrings(topicsValue) : uid ? [uid] : [];
  const development = fields.extensions.has(AppleCertificateOids.development);
  const production = fields.extensions.has(AppleCertificateOids.production);
  const environment: CertificateEnvironment =
    development && production ? 'development+production' : development ? 'development' : production ? 'production' : 'unknown';
  return {
    subject: subjectParts.join(', '),
    topics,
    environment,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    fingerprint: certificate.fingerprint256,
  };
}

/** Whether a certificate marked for `environment` may be used against the configured endpoint kind. */
export function supportsEnvironment(environment: CertificateEnvironment, production: boolean): boolean {
  if (environment === 'unknown' || environment === 'development+production') return true;
  return production ? environment === 'production' : environment === 'development';
}

/** The first certificate of a PEM bundle (leaf first, as Apple and openssl write them). */
export function firstCertificate(pem: string | Buffer): X509Certificate {
  return new X509Certificate(pem);
}
