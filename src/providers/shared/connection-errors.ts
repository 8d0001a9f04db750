/**
 * What a failed connection means for the app. TLS errors are deterministic: an
 * untrusted server certificate (wrong CA, interception) will not fix itself on the
 * next try, and a server that refuses the client certificate at the handshake is the
 * TLS form of Apple's 403 BadCertificate.
 */
export type ConnectionFailureKind = 'untrusted-server' | 'client-certificate-refused' | 'closed-after-handshake' | 'network';

/**
 * The server completed the TLS handshake, then closed the connection before its first
 * HTTP/2 SETTINGS. With TLS 1.3 the client's handshake ends before the server has
 * checked the client certificate, and a server that rejects it without an alert (as
 * node's TLS server does) looks exactly like this.
 */
export const CLOSED_AFTER_HANDSHAKE = 'ECLOSED_AFTER_HANDSHAKE';

const untrustedServer = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

// Alerts a server sends when it does not accept the client certificate.
const clientCertificateRefused = /^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_EXPIRED|CERTIFICATE_UNKNOWN|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|HANDSHAKE_FAILURE)$/;

/** A session that could not be opened, with what that means for the app. */
export class ConnectError extends Error {
  constructor(
    readonly kind: ConnectionFailureKind,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot connect to APNs: ${code}`, options);
    this.name = 'ConnectError';
  }
}

export function classifyConnectionError(err: unknown): { kind: ConnectionFailureKind; code: string } {
  const code = errorCode(err);
  if (untrustedServer.has(code)) return { kind: 'untrusted-server', code };
  if (clientCertificateRefused.test(code)) return { kind: 'client-certificate-refused', code };
  if (code === CLOSED_AFTER_HANDSHAKE) return { kind: 'closed-after-handshake', code };
  return { kind: 'network', code };
}

function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    const message = (err as { message?: unknown }).message;
    if (typeof message === 'string') return message.slice(0, 80);
  }
  return String(err).slice(0, 80);
}
