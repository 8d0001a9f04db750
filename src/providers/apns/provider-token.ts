import { sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/**
 * The JWT for token authentication, one per signing key per process, shared by every
 * connection and app using that key. Apple refuses tokens older than 60 minutes
 * (403 ExpiredProviderToken) and tokens renewed more often than every 20 minutes
 * (429 TooManyProviderTokenUpdates), so a token is renewed when it reaches
 * `renewAfterMs` (40 minutes) and never before `minAgeMs` (20 minutes), however many
 * requests ask for it.
 */
export interface ProviderTokenOptions {
  key: KeyObject;
  keyId: string;
  teamId: string;
  now?: () => number;
  renewAfterMs?: number;
  minAgeMs?: number;
}

export const TOKEN_RENEW_AFTER_MS = 40 * 60_000;
export const TOKEN_MIN_AGE_MS = 20 * 60_000;

export class ProviderToken {
  private jwt: string | undefined;
  private issuedAt = 0;
  private readonly now: () => number;
  private readonly renewAfterMs: number;
  private readonly minAgeMs: number;
  /** How many tokens were signed, for logs and tests. */
  generation = 0;

  constructor(private readonly options: ProviderTokenOptions) {
    this.now = options.now ?? Date.now;
    this.renewAfterMs = options.renewAfterMs ?? TOKEN_RENEW_AFTER_MS;
    this.minAgeMs = options.minAgeMs ?? TOKEN_MIN_AGE_MS;
  }

  /** The token to send now; signs a new one when none exists or the current one reached its renewal age. */
  current(): string {
    if (this.jwt === undefined || this.now() - this.issuedAt >= this.renewAfterMs) return this.renew();
    return this.jwt;
  }

  /**
   * Apple answered ExpiredProviderToken for `rejected`. Returns true when a different
   * token is now available (someone renewed it already, or it was old enough to renew),
   * false when renewing would break the 20-minute rule: then the clock or the key is
   * wrong and resending cannot help.
   */
  renewAfterRejection(rejected: string): boolean {
    if (this.jwt !== rejected) return this.jwt !== undefined;
    if (this.now() - this.issuedAt < this.minAgeMs) return false;
    this.renew();
    return true;
  }

  /** Milliseconds since the current token was signed (for diagnostics). */
  age(): number {
    return this.jwt === undefined ? 0 : this.now() - this.issuedAt;
  }

  private renew(): string {
    this.issuedAt = this.now();
    const header = base64url(JSON.stringify({ alg: 'ES256', kid: this.options.keyId }));
    const claims = base64url(JSON.stringify({ iss: this.options.teamId, iat: Math.floor(this.issuedAt / 1000) }));
    const signingInput = `${header}.${claims}`;
    // JWS wants the raw r||s form (IEEE P1363), not node's default DER signature.
    const signature = sign('sha256', Buffer.from(signingInput), { key: this.options.key, dsaEncoding: 'ieee-p1363' });
    this.jwt = `${signingInput}.${signature.toString('base64url')}`;
    this.generation += 1;
    return this.jwt;
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
