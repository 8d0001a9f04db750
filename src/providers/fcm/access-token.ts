/**
 * The OAuth2 access token of one service account, shared by every app using it. A
 * token is fetched on first use, reused until `refreshBeforeMs` before it expires
 * (Google's last an hour), and at most one fetch runs at a time however many requests
 * are waiting. A token FCM answered 401 to is dropped so the next caller fetches anew.
 */
import { sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { backoffDelay } from '../../lib/backoff.js';
import { requestAccessToken } from './token-endpoint.js';
import type { TokenAnswer, TokenFetch } from './token-endpoint.js';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
export const ASSERTION_LIFETIME_S = 3600;
export const REFRESH_BEFORE_MS = 5 * 60_000;

export interface AccessTokenOptions {
  clientEmail: string;
  privateKeyId?: string;
  key: KeyObject;
  tokenUri: string;
  ca?: Buffer;
  timeoutMs: number;
  now?: () => number;
  refreshBeforeMs?: number;
  fetch?: TokenFetch;
  /** Every fetch's result, for metrics: `ok`, the HTTP status, or `none`. */
  onFetch?: (status: string) => void;
}

export type TokenState =
  | { kind: 'token'; value: string }
  | { kind: 'refused'; reason: string; status: number }
  /** The endpoint could not be reached; no fetch before `retryAt`. */
  | { kind: 'unavailable'; reason: string; retryAt: number };

export class AccessToken {
  private value: string | undefined;
  private expiresAt = 0;
  private fetching: Promise<TokenState> | undefined;
  private failures = 0;
  private lastFailure: TokenState | undefined;
  private retryAt = 0;
  private readonly now: () => number;
  private readonly refreshBeforeMs: number;
  /** Tokens fetched, for logs and tests. */
  generation = 0;

  constructor(private readonly options: AccessTokenOptions) {
    this.now = options.now ?? Date.now;
    this.refreshBeforeMs = options.refreshBeforeMs ?? REFRESH_BEFORE_MS;
  }

  /**
   * A token good for at least the refresh margin, fetching one when needed. While a
   * refresh fails, a token that has not yet expired is still handed out.
   */
  current(): Promise<TokenState> {
    const now = this.now();
    if (this.value !== undefined && now < this.expiresAt - this.refreshBeforeMs) return Promise.resolve({ kind: 'token', value: this.value });
    if (this.fetching) return this.fetching;
    if (this.lastFailure && now < this.retryAt) return Promise.resolve(this.value !== undefined && now < this.expiresAt ? { kind: 'token', value: this.value } : this.lastFailure);
    this.fetching = this.fetch().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  /** FCM answered 401 to `rejected`: it is not used again (unless another token replaced it already). */
  invalidate(rejected: string): void {
    if (this.value !== rejected) return;
    this.value = undefined;
    this.expiresAt = 0;
    this.lastFailure = undefined;
  }

  private async fetch(): Promise<TokenState> {
    const { tokenUri, ca, timeoutMs } = this.options;
    let answer: TokenAnswer;
    try {
      answer = await (this.options.fetch ?? requestAccessToken)({ tokenUri, assertion: this.assertion(), timeoutMs, ...(ca === undefined ? {} : { ca }) });
    } catch (err) {
      answer = { kind: 'unavailable', cause: (err as Error).message };
    }
    this.options.onFetch?.(answer.kind === 'ok' ? 'ok' : answer.status === undefined ? 'none' : String(answer.status));
    const now = this.now();
    if (answer.kind === 'ok') {
      this.value = answer.accessToken;
      this.expiresAt = now + answer.expiresInS * 1000;
      this.failures = 0;
      this.lastFailure = undefined;
      this.generation += 1;
      return { kind: 'token', value: answer.accessToken };
    }
    this.failures += 1;
    this.retryAt = now + backoffDelay(this.failures, { baseMs: 500, maxMs: 30_000 });
    this.lastFailure =
      answer.kind === 'refused' ? { kind: 'refused', reason: answer.error === 'invalid_grant' ? 'InvalidGrant' : 'TokenRefused', status: answer.status } : { kind: 'unavailable', reason: 'TokenUnavailable', retryAt: this.retryAt };
    if (this.value !== undefined && now < this.expiresAt) return { kind: 'token', value: this.value };
    return this.lastFailure;
  }

  /** The RS256 JWT assertion Google's token endpoint takes for a service account. */
  private assertion(): string {
    const iat = Math.floor(this.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', ...(this.options.privateKeyId === undefined ? {} : { kid: this.options.privateKeyId }) };
    const claims = { iss: this.options.clientEmail, scope: FCM_SCOPE, aud: this.options.tokenUri, iat, exp: iat + ASSERTION_LIFETIME_S };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), this.options.key);
    return `${input}.${signature.toString('base64url')}`;
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
