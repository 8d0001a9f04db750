import { hmacSha256Hex, safeEqual } from '../../lib/hmac.js';

/** The credentials a signature is checked against. */
export interface SigningApp {
  readonly key: string;
  readonly secret: string;
}

export type AuthCheck = { ok: true } | { ok: false; message: string };

/**
 * `auth` = `APP_KEY:hex(HMAC-SHA256(secret, stringToSign))`. The key part must be
 * the app's key and the digest is compared in constant time.
 */
function verifyAuth(app: SigningApp, auth: unknown, stringToSign: string): AuthCheck {
  if (typeof auth !== 'string' || auth === '') return { ok: false, message: 'Auth info required' };
  const colon = auth.indexOf(':');
  if (colon <= 0) return { ok: false, message: 'Auth must be APP_KEY:signature' };
  const key = auth.slice(0, colon);
  const signature = auth.slice(colon + 1);
  if (!safeEqual(key, app.key)) return { ok: false, message: 'Auth key does not match the app key' };
  if (!safeEqual(signature, hmacSha256Hex(app.secret, stringToSign))) {
    return { ok: false, message: 'Invalid signature' };
  }
  return { ok: true };
}

/**
 * Private and encrypted channels sign `socket_id:channel`; presence channels add
 * `:channel_data`, the exact string the client sent.
 */
export function verifyChannelAuth(app: SigningApp, socketId: string, channel: string, auth: unknown, channelData?: string): AuthCheck {
  const stringToSign = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return verifyAuth(app, auth, stringToSign);
}

/** Sign-in signs `socket_id::user::user_data`. */
export function verifySigninAuth(app: SigningApp, socketId: string, userData: string, auth: unknown): AuthCheck {
  return verifyAuth(app, auth, `${socketId}::user::${userData}`);
}
