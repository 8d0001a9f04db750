/** Pusher channel names: which kind a name denotes, and whether it is acceptable. */

export type ChannelKind = 'public' | 'private' | 'encrypted' | 'presence' | 'user';

export interface ChannelType {
  readonly kind: ChannelKind;
  /** cache-, private-cache-, private-encrypted-cache-, presence-cache-: the last API event is replayed on subscribe. */
  readonly cache: boolean;
}

export const SERVER_TO_USER_PREFIX = '#server-to-user-';

const nameChars = /^[A-Za-z0-9_\-=@,.;]+$/;

/** One frozen value per kind and cache flag: every subscription shares them instead of holding its own. */
const TYPES = {
  presence: [Object.freeze({ kind: 'presence', cache: false }), Object.freeze({ kind: 'presence', cache: true })],
  encrypted: [Object.freeze({ kind: 'encrypted', cache: false }), Object.freeze({ kind: 'encrypted', cache: true })],
  private: [Object.freeze({ kind: 'private', cache: false }), Object.freeze({ kind: 'private', cache: true })],
  user: [Object.freeze({ kind: 'user', cache: false })],
  public: [Object.freeze({ kind: 'public', cache: false }), Object.freeze({ kind: 'public', cache: true })],
} as const satisfies Record<ChannelKind, readonly ChannelType[]>;

/** Prefixes are anchored and tested most specific first, so `foo-private-x` stays public. */
export function channelType(name: string): ChannelType {
  if (name.startsWith('presence-')) return TYPES.presence[name.startsWith('presence-cache-') ? 1 : 0];
  if (name.startsWith('private-encrypted-')) return TYPES.encrypted[name.startsWith('private-encrypted-cache-') ? 1 : 0];
  if (name.startsWith('private-')) return TYPES.private[name.startsWith('private-cache-') ? 1 : 0];
  if (name.startsWith(SERVER_TO_USER_PREFIX)) return TYPES.user[0];
  return TYPES.public[name.startsWith('cache-') ? 1 : 0];
}

/** Private, encrypted and presence channels need a signed `auth`. */
export function needsSignature(type: ChannelType): boolean {
  return type.kind === 'private' || type.kind === 'encrypted' || type.kind === 'presence';
}

export type ChannelNameCheck = { ok: true; type: ChannelType } | { ok: false; message: string };

export function checkChannelName(name: unknown, maxLength: number): ChannelNameCheck {
  if (typeof name !== 'string' || name === '') return { ok: false, message: 'Channel name must be a non-empty string' };
  if (name.length > maxLength) return { ok: false, message: `Channel name is longer than ${maxLength} characters` };
  const type = channelType(name);
  const body = type.kind === 'user' ? name.slice(SERVER_TO_USER_PREFIX.length) : name;
  if (!nameChars.test(body)) {
    return { ok: false, message: 'Channel name may only contain A-Z a-z 0-9 _ - = @ , . ;' };
  }
  return { ok: true, type };
}

/** The user id of a `#server-to-user-{id}` channel. */
export function serverToUserId(name: string): string | undefined {
  return name.startsWith(SERVER_TO_USER_PREFIX) ? name.slice(SERVER_TO_USER_PREFIX.length) : undefined;
}

export { MAX_USER_ID_LENGTH } from '../../lib/user-ids.js';

/** Signed-in user ids end up in `#server-to-user-{id}`, so they use the channel-name characters (lib/user-ids.ts). */
export { isValidUserId as isValidSigninUserId } from '../../lib/user-ids.js';
