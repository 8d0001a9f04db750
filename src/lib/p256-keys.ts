import { createECDH, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/**
 * P-256 keys in the raw forms Web Push uses: a public key is the 65-byte uncompressed
 * point (0x04 || x || y), a private key the 32-byte scalar, both base64url (RFC 8292 §3.2).
 */

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** Strict base64url: Buffer.from silently skips characters outside the alphabet. */
export function decodeBase64Url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined;
  return Buffer.from(text.replace(/=+$/, ''), 'base64url');
}

export type KeyCheck<T> = { ok: true; value: T } | { ok: false; message: string };

/** A public point that lies on the curve (createPublicKey refuses any other). */
export function p256PublicKey(raw: Buffer): KeyCheck<KeyObject> {
  if (raw.length !== 65 || raw[0] !== 0x04) return { ok: false, message: `must be a 65-byte uncompressed P-256 point (0x04 || x || y), got ${raw.length} bytes` };
  try {
    const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' });
    return { ok: true, value: key };
  } catch {
    return { ok: false, message: 'is not a point on the P-256 curve' };
  }
}

export interface VapidKeyPair {
  /** The 65-byte public point, as sent in `k=`. */
  readonly publicKey: Buffer;
  /** The signing key for ES256. */
  readonly privateKey: KeyObject;
}

/**
 * Opens a VAPID key pair and checks that the private key is the public key's: a
 * mismatch would be signed happily and refused by every push service.
 * `privateKey` is base64url of the 32-byte scalar, or a PKCS#8 / SEC1 PEM.
 */
export function vapidKeyPair(publicKey: string, privateKey: string): { ok: true; keys: VapidKeyPair } | { ok: false; key: 'publicKey' | 'privateKey'; message: string } {
  const pub = decodeBase64Url(publicKey.trim());
  if (!pub) return { ok: false, key: 'publicKey', message: 'must be base64url' };
  const point = p256PublicKey(pub);
  if (!point.ok) return { ok: false, key: 'publicKey', message: point.message };
  const scalar = privateScalar(privateKey.trim());
  if (!scalar.ok) return { ok: false, key: 'privateKey', message: scalar.message };
  const ecdh = createECDH('prime256v1');
  try {
    ecdh.setPrivateKey(scalar.value);
  } catch {
    return { ok: false, key: 'privateKey', message: 'is not a valid P-256 private key' };
  }
  if (!ecdh.getPublicKey().equals(pub)) return { ok: false, key: 'privateKey', message: 'does not belong to publicKey (the two must be one P-256 key pair)' };
  const jwk = { kty: 'EC', crv: 'P-256', x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33).toString('base64url'), d: scalar.value.toString('base64url') };
  return { ok: true, keys: { publicKey: pub, privateKey: createPrivateKey({ key: jwk, format: 'jwk' }) } };
}

function privateScalar(text: string): KeyCheck<Buffer> {
  if (text.startsWith('-----BEGIN')) {
    try {
      const key = createPrivateKey(text);
      const jwk = key.export({ format: 'jwk' });
      if (key.asymmetricKeyType !== 'ec' || jwk.crv !== 'P-256' || jwk.d === undefined) return { ok: false, message: 'must be a P-256 (prime256v1) key' };
      return { ok: true, value: Buffer.from(jwk.d, 'base64url') };
    } catch {
      return { ok: false, message: 'is a PEM block that does not open as a private key' };
    }
  }
  const raw = decodeBase64Url(text);
  if (!raw) return { ok: false, message: 'must be base64url (or a PEM private key)' };
  if (raw.length !== 32) return { ok: false, message: `must be the 32-byte P-256 private scalar, got ${raw.length} bytes` };
  return { ok: true, value: raw };
}
