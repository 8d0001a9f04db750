import type { App, AppStore } from '../apps/app-store.js';
import { Close } from './close-codes.js';
import { originAllowed } from './origin.js';

export const SUPPORTED_PROTOCOLS = { min: 5, max: 7 } as const;

export type HandshakeVerdict =
  | { ok: true; app: App; protocol: number }
  | { ok: false; code: number; message: string; reason: string };

export interface HandshakeRequest {
  url: string | undefined;
  origin: string | undefined;
}

/**
 * The checks that need nothing but the request, in Pusher's order: path (4005),
 * protocol (4006/4007), app (4001), enabled (4003), origin (4009). Quota and
 * draining are the gateway's, since they depend on its state.
 */
export function checkHandshake(req: HandshakeRequest, apps: AppStore): HandshakeVerdict {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://gateway.invalid');
  } catch {
    return { ok: false, code: Close.PathNotFound, message: 'Invalid request path', reason: 'bad_path' };
  }
  const match = /^\/app\/([^/]+)$/.exec(url.pathname);
  const rawKey = match?.[1];
  if (rawKey === undefined) {
    return { ok: false, code: Close.PathNotFound, message: 'Path not found: connect to /app/{key}', reason: 'bad_path' };
  }
  const version = url.searchParams.get('protocol');
  // Missing protocol is accepted as 7, as Pusher still does and soketi and Reverb always do.
  const protocol = version === null ? SUPPORTED_PROTOCOLS.max : /^\d{1,3}$/.test(version) ? Number(version) : Number.NaN;
  if (Number.isNaN(protocol)) {
    return { ok: false, code: Close.InvalidVersion, message: 'Invalid version string format', reason: 'invalid_version' };
  }
  if (protocol < SUPPORTED_PROTOCOLS.min || protocol > SUPPORTED_PROTOCOLS.max) {
    return {
      ok: false,
      code: Close.UnsupportedProtocol,
      message: `Unsupported protocol version ${protocol}: ${SUPPORTED_PROTOCOLS.min} to ${SUPPORTED_PROTOCOLS.max} are supported`,
      reason: 'unsupported_protocol',
    };
  }
  let key: string;
  try {
    key = decodeURIComponent(rawKey);
  } catch {
    key = rawKey;
  }
  const app = apps.byKey(key);
  if (!app) return { ok: false, code: Close.AppUnknown, message: `App key ${key.slice(0, 64)} does not exist`, reason: 'app_unknown' };
  if (!app.enabled) return { ok: false, code: Close.AppDisabled, message: 'App is disabled', reason: 'app_disabled' };
  if (!originAllowed(app.allowedOrigins, req.origin)) {
    return { ok: false, code: Close.Unauthorized, message: 'Origin not allowed for this app', reason: 'origin_refused' };
  }
  return { ok: true, app, protocol };
}
