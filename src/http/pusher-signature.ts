import type { App } from '../apps/app-store.js';
import type { KeyObject } from 'node:crypto';
import { hmacSha256Hex, md5Hex, safeEqual, secretKeyOf } from '../lib/hmac.js';
import { stringToSign } from '../lib/pusher-signing.js';
import type { QueryParams } from '../lib/pusher-signing.js';

/** Pusher's reference verifier allows |now − auth_timestamp| < 600 s. */
export const TIMESTAMP_GRACE_SECONDS = 600;
/**
 * How far ahead of this server's clock a timestamp may be. Without a bound, a request
 * stamped an hour ahead could be replayed for an hour and ten minutes; hosts kept by NTP
 * differ by milliseconds, so a minute only covers a badly synchronised sender.
 */
export const FUTURE_SKEW_SECONDS = 60;


/** Query parameters under the names they were signed with (lower case), each given exactly once. */
export type SignedParams = Readonly<Record<string, string>>;

export type SignatureResult = { ok: true } | { ok: false; status: 400 | 401; error: string };
export type ParamsResult = { ok: true; params: SignedParams } | { ok: false; status: 400; error: string };

/**
 * The signature lower-cases names and joins repeated values with commas, so
 * `FILTER_BY_PREFIX=x` and `info=a&info=b` sign like `filter_by_prefix=x` and `info=a,b`.
 * Routes must read what was signed: names are lower-cased here, and a name given twice
 * (in any case) is refused rather than guessed at.
 */
export function readSignedParams(query: QueryParams): ParamsResult {
  // A plain object, not Object.create(null): V8 keeps a null-prototype object in dictionary mode, and
  // every read of it on the request's path is a hash lookup. So `__proto__` is refused rather than kept.
  const params: Record<string, string> = {};
  for (const name of Object.keys(query)) {
    const value = query[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) return { ok: false, status: 400, error: `Query parameter '${clip(name)}' is given more than once` };
    const lower = name.toLowerCase();
    if (lower === '__proto__') return { ok: false, status: 400, error: "Query parameter '__proto__' is not allowed" };
    if (Object.hasOwn(params, lower)) {
      const earlier = Object.keys(query).find((other) => other.toLowerCase() === lower) ?? lower;
      return { ok: false, status: 400, error: `Query parameters '${clip(earlier)}' and '${clip(name)}' differ only in case` };
    }
    params[lower] = value;
  }
  return { ok: true, params };
}

export interface SignedRequestLine {
  method: string;
  /** The request path without the query string, as sent. */
  path: string;
  params: SignedParams;
  /** The headers announce a body (Content-Length > 0): then body_md5 must be signed. */
  announcesBody: boolean;
}

/**
 * Verifies a Pusher HTTP API signature from the request line alone, before any body is
 * read: HMAC-SHA256(secret, METHOD\nPATH\nsorted k=v of every param except auth_signature).
 * The body is checked against the signed body_md5 by `verifyBodyMd5` once it is read.
 */
export function verifyPusherSignature(req: SignedRequestLine, app: App, nowSeconds = Math.floor(Date.now() / 1000)): SignatureResult {
  const { auth_key: key, auth_timestamp: timestamp, auth_version: version, auth_signature: signature } = req.params;
  if (!key || !timestamp || !signature) {
    return { ok: false, status: 401, error: 'auth_key, auth_timestamp and auth_signature are required' };
  }
  if (!safeEqual(key, app.key)) return { ok: false, status: 401, error: 'Unknown auth_key' };
  if (version === undefined) return { ok: false, status: 401, error: 'Version required' };
  if (version !== '1.0') return { ok: false, status: 401, error: `Version not supported: ${clip(version)}` };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, status: 401, error: 'auth_timestamp must be UNIX seconds' };
  const age = nowSeconds - Number(timestamp);
  if (age >= TIMESTAMP_GRACE_SECONDS) {
    return {
      ok: false,
      status: 401,
      error: `Timestamp expired: Given timestamp (${timestamp}) not within ${TIMESTAMP_GRACE_SECONDS}s of server time (${nowSeconds})`,
    };
  }
  if (-age > FUTURE_SKEW_SECONDS) {
    return {
      ok: false,
      status: 401,
      error: `Timestamp in the future: Given timestamp (${timestamp}) is more than ${FUTURE_SKEW_SECONDS}s ahead of server time (${nowSeconds})`,
    };
  }
  if (req.announcesBody && !req.params.body_md5) return { ok: false, status: 401, error: 'body_md5 is required for a request with a body' };
  const expected = hmacSha256Hex(signingKey(app), stringToSign({ method: req.method, path: req.path, query: req.params }));
  if (!safeEqual(signature, expected)) {
    return { ok: false, status: 401, error: 'Invalid signature: check the app secret, the path and the query parameters' };
  }
  return { ok: true };
}

/** The body, once read, against the signed body_md5 (an empty body needs none). */
export function verifyBodyMd5(params: SignedParams, rawBody: Buffer): SignatureResult {
  if (rawBody.length === 0) return { ok: true };
  const bodyMd5 = params.body_md5;
  if (!bodyMd5) return { ok: false, status: 401, error: 'body_md5 is required for a request with a body' };
  if (!safeEqual(bodyMd5, md5Hex(rawBody))) return { ok: false, status: 401, error: 'body_md5 does not match the body' };
  return { ok: true };
}

/** Each app's secret as a key, made at its first signed request; a reload's new app objects get new ones. */
const signingKeys = new WeakMap<App, KeyObject>();

function signingKey(app: App): KeyObject {
  let key = signingKeys.get(app);
  if (!key) {
    key = secretKeyOf(app.secret);
    signingKeys.set(app, key);
  }
  return key;
}

/** Names and values echoed in errors are the caller's input: keep them short. */
function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
