import { decodeBase64Url, p256PublicKey } from '../../lib/p256-keys.js';
import type { WebPushSubscription } from '../provider.js';

/**
 * A browser subscription checked and decoded once: the endpoint URL, the browser's
 * public key and auth secret as bytes. Also the edge check for whoever stores
 * subscriptions (the device registry, an HTTP route): a precise path and message.
 */
export interface OpenedSubscription {
  readonly endpoint: URL;
  /** 65-byte uncompressed P-256 point (`keys.p256dh`). */
  readonly uaPublic: Buffer;
  /** 16 bytes (`keys.auth`). */
  readonly authSecret: Buffer;
}

export type SubscriptionCheck = { ok: true; subscription: OpenedSubscription } | { ok: false; path: string; message: string };

/** Endpoints longer than this are refused: browsers' are a few hundred characters. */
export const MAX_ENDPOINT_LENGTH = 2048;

export function openSubscription(value: unknown): SubscriptionCheck {
  if (value === null || typeof value !== 'object') return { ok: false, path: '', message: 'must be an object {endpoint, keys: {p256dh, auth}}' };
  const { endpoint, keys } = value as Partial<Record<keyof WebPushSubscription, unknown>>;
  if (typeof endpoint !== 'string' || endpoint.length === 0) return { ok: false, path: 'endpoint', message: 'must be a URL' };
  if (endpoint.length > MAX_ENDPOINT_LENGTH) return { ok: false, path: 'endpoint', message: `must be at most ${MAX_ENDPOINT_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { ok: false, path: 'endpoint', message: 'must be a URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, path: 'endpoint', message: 'must be an https URL' };
  if (url.username !== '' || url.password !== '') return { ok: false, path: 'endpoint', message: 'must not carry credentials' };
  if (keys === null || typeof keys !== 'object') return { ok: false, path: 'keys', message: 'must be an object {p256dh, auth}' };
  const { p256dh, auth } = keys as Record<string, unknown>;
  const uaPublic = typeof p256dh === 'string' ? decodeBase64Url(p256dh) : undefined;
  if (!uaPublic) return { ok: false, path: 'keys.p256dh', message: 'must be base64url' };
  const point = p256PublicKey(uaPublic);
  if (!point.ok) return { ok: false, path: 'keys.p256dh', message: point.message };
  const authSecret = typeof auth === 'string' ? decodeBase64Url(auth) : undefined;
  if (!authSecret) return { ok: false, path: 'keys.auth', message: 'must be base64url' };
  if (authSecret.length !== 16) return { ok: false, path: 'keys.auth', message: `must be 16 bytes, got ${authSecret.length}` };
  return { ok: true, subscription: { endpoint: url, uaPublic, authSecret } };
}
