// Apple's device-token format, shared by the notification contract and the APNs provider.
/**
 * Device tokens as users hand them over: copied from Xcode logs (`<a1b2 c3d4 ...>`),
 * upper-case, or clean. Apple's tokens are 32 bytes today but documented as variable
 * length, so the bounds below are generous: anything within them that is even-length
 * hex goes to Apple, which has the final word (BadDeviceToken).
 */
export const MIN_TOKEN_HEX = 32;
export const MAX_TOKEN_HEX = 400;

export type NormalizedToken = { ok: true; token: string } | { ok: false; detail: string };

const decoration = /[\s<>]/g;
const hex = /^[0-9a-f]*$/;

export function normalizeToken(raw: unknown): NormalizedToken {
  if (typeof raw !== 'string') return { ok: false, detail: `device token must be a string, got ${typeof raw}` };
  // Already in normal form (as every token is once parsed at intake): no copies.
  const clean = hex.test(raw);
  const token = clean ? raw : raw.replace(decoration, '').toLowerCase();
  if (token.length === 0) return { ok: false, detail: 'device token is empty' };
  if (!clean && !hex.test(token)) return { ok: false, detail: 'device token must be hexadecimal (after removing spaces and <>)' };
  if (token.length % 2 !== 0) return { ok: false, detail: `device token has an odd number of hex digits (${token.length})` };
  if (token.length < MIN_TOKEN_HEX || token.length > MAX_TOKEN_HEX) {
    return { ok: false, detail: `device token must have ${MIN_TOKEN_HEX} to ${MAX_TOKEN_HEX} hex digits, got ${token.length}` };
  }
  return { ok: true, token };
}
