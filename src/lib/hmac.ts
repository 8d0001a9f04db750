import { createHmac, createSecretKey, hash, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** A secret made into a key once: createHmac copies and wraps a string secret on every call. */
export function secretKeyOf(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

export function hmacSha256Hex(secret: string | KeyObject, message: string | Buffer): string {
  return createHmac('sha256', secret).update(message).digest('hex');
}

/** One-shot: a Hash object and its stream machinery cost twice the digest of a request body. */
export function md5Hex(data: string | Buffer): string {
  return hash('md5', data, 'hex');
}

/** Constant-time string comparison; unequal lengths compare a dummy so timing does not leak length either. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
