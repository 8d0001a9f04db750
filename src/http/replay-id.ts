import { hash } from 'node:crypto';

/**
 * The id of a notification sent over HTTP without one. It is derived from the request's
 * `auth_signature`, an HMAC over method, path, auth_timestamp and body_md5 that the server
 * accepts only exactly as computed: every signed request has its own, and a replay of one
 * (a proxy's or client's retry, a copy) has the same, so it names the same notification
 * and is answered 200 instead of pushing again. Hashed: the signature is not echoed.
 */
export function replayId(query: unknown): string | undefined {
  const signature = typeof query === 'object' && query !== null ? (query as Record<string, unknown>).auth_signature : undefined;
  if (typeof signature !== 'string' || signature.length === 0) return undefined;
  return `s-${hash('sha256', signature, 'base64url').slice(0, 32)}`;
}
