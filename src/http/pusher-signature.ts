import type { App } from '../apps/app-store.js';
import { hmacSha256Hex, md5Hex, safeEqual } from '../lib/hmac.js';

/** Pusher's reference verifier allows |now − auth_timestamp| < 600 s. */
export const TIMESTAMP_GRACE_SECONDS = 600;

export type QueryParams = Record<string, string | string[] | undefined>;

export interface SignedRequest {
  method: string;
  /** The request path without the query string, as sent. */
  path: string;
  query: QueryParams;
  rawBody: Buffer | undefined;
}

export type SignatureResult = { ok: true } | { ok: false; status: 400 | 401; error: string };

/**
 * Verifies a Pusher HTTP API signature:
 * HMAC-SHA256(secret, METHOD\nPATH\nsorted k=v of every param except auth_signature).
 */
export function verifyPusherSignature(req: SignedRequest, app: App, nowSeconds = Math.floor(Date.now() / 1000)): SignatureResult {
  const single = (name: string): string | undefined => {
    const value = req.query[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const key = single('auth_key');
  const timestamp = single('auth_timestamp');
  const version = single('auth_version');
  const signature = single('auth_signature');
  if (!key || !timestamp || !signature) {
    return { ok: false, status: 401, error: 'auth_key, auth_timestamp and auth_signature are required' };
  }
  if (!safeEqual(key, app.key)) return { ok: false, status: 401, error: 'Unknown auth_key' };
  if (version === undefined) return { ok: false, status: 401, error: 'Version required' };
  if (version !== '1.0') return { ok: false, status: 401, error: `Version not supported: ${version}` };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, status: 401, error: 'auth_timestamp must be UNIX seconds' };
  const skew = Math.abs(nowSeconds - Number(timestamp));
  if (skew >= TIMESTAMP_GRACE_SECONDS) {
    return {
      ok: false,
      status: 401,
      error: `Timestamp expired: Given timestamp (${timestamp}) not within ${TIMESTAMP_GRACE_SECONDS}s of server time (${nowSeconds})`,
    };
  }
  const body = req.rawBody && req.rawBody.length > 0 ? req.rawBody : undefined;
  const bodyMd5 = single('body_md5');
  if (body) {
    if (!bodyMd5) return { ok: false, status: 401, error: 'body_md5 is required for a request with a body' };
    if (!safeEqual(bodyMd5, md5Hex(body))) return { ok: false, status: 401, error: 'body_md5 does not match the body' };
  }
  const expected = hmacSha256Hex(app.secret, stringToSign(req));
  if (!safeEqual(signature, expected)) {
    return { ok: false, status: 401, error: 'Invalid signature: check the app secret, the path and the query parameters' };
  }
  return { ok: true };
}

export function stringToSign(req: Pick<SignedRequest, 'method' | 'path' | 'query'>): string {
  const params = Object.entries(req.query)
    .filter(([name, value]) => name !== 'auth_signature' && value !== undefined)
    .map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(',') : (value as string)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  return `${req.method.toUpperCase()}\n${req.path}\n${params}`;
}

/** Signs a request the way the pusher SDK does; used by Herald's own client and CLI. */
export function signQuery(
  app: Pick<App, 'key' | 'secret'>,
  method: string,
  path: string,
  body: string | undefined,
  params: Record<string, string> = {},
  nowSeconds = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const query: Record<string, string> = { ...params, auth_key: app.key, auth_timestamp: String(nowSeconds), auth_version: '1.0' };
  if (body) query.body_md5 = md5Hex(body);
  query.auth_signature = hmacSha256Hex(app.secret, stringToSign({ method, path, query }));
  return query;
}
