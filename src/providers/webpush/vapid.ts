import { sign } from 'node:crypto';
import type { VapidKeyPair } from '../../lib/p256-keys.js';

/**
 * The VAPID `Authorization` header (RFC 8292): an ES256 JWT whose audience is the
 * push service's origin, and the public key. One JWT per origin is kept and reused
 * until it nears expiry, so signing costs once per origin per renewal, not per message.
 */

/** Lifetime of a JWT; RFC 8292 §2 allows at most 24 h. */
export const VAPID_LIFETIME_S = 12 * 3600;
/** A cached JWT is replaced this long before it expires, so none reaches a push service nearly stale. */
const RENEW_BEFORE_S = 3600;
/** Origins remembered; subscriptions name few push services, but an endpoint is caller data. */
const MAX_ORIGINS = 1000;

const JWT_HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ES256' })).toString('base64url');

export class VapidSigner {
  private readonly cache = new Map<string, { header: string; renewAt: number }>();
  private readonly k: string;

  constructor(
    private readonly keys: VapidKeyPair,
    private readonly subject: string,
    private readonly now: () => number = Date.now,
  ) {
    this.k = keys.publicKey.toString('base64url');
  }

  /** `vapid t=<jwt>, k=<public key>` for an endpoint of `origin` (`https://host[:port]`). */
  authorization(origin: string): string {
    const nowS = Math.floor(this.now() / 1000);
    const cached = this.cache.get(origin);
    if (cached && nowS < cached.renewAt) return cached.header;
    const exp = nowS + VAPID_LIFETIME_S;
    const claims = Buffer.from(JSON.stringify({ aud: origin, exp, sub: this.subject })).toString('base64url');
    const input = `${JWT_HEADER}.${claims}`;
    const signature = sign('sha256', Buffer.from(input), { key: this.keys.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    const header = `vapid t=${input}.${signature}, k=${this.k}`;
    this.cache.delete(origin);
    if (this.cache.size >= MAX_ORIGINS) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(origin, { header, renewAt: exp - RENEW_BEFORE_S });
    return header;
  }

  /** A push service refused the header: sign a new one for that origin on the next request. */
  forget(origin: string): void {
    this.cache.delete(origin);
  }
}
