import type { PresenceMember } from '../state/channel-state.js';
import { rawJsonTooDeep } from '../../lib/json-depth.js';
import { MAX_USER_INFO_DEPTH } from '../raw-json.js';
import { MAX_USER_ID_LENGTH } from './channel-name.js';

export type MemberCheck =
  | { ok: true; member: PresenceMember }
  | { ok: false; type: 'BadRequest' | 'LimitReached'; status: 400 | 413; message: string };

/**
 * A presence `channel_data` string: `{"user_id": string | number, "user_info"?: any}`.
 * Numeric ids become strings, as Pusher reports ids. `maxBytes` bounds the whole
 * string, which is what every member's socket holds and what presence replies repeat.
 */
export function parseChannelData(channelData: string, maxBytes: number): MemberCheck {
  if (Buffer.byteLength(channelData) > maxBytes) {
    return { ok: false, type: 'LimitReached', status: 413, message: `Presence member data is larger than ${maxBytes} bytes` };
  }
  if (rawJsonTooDeep(Buffer.from(channelData), MAX_USER_INFO_DEPTH)) {
    return { ok: false, type: 'BadRequest', status: 400, message: `channel_data nests deeper than ${MAX_USER_INFO_DEPTH} levels of objects and arrays` };
  }
  let value: unknown;
  try {
    value = JSON.parse(channelData);
  } catch {
    return { ok: false, type: 'BadRequest', status: 400, message: 'channel_data is not valid JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, type: 'BadRequest', status: 400, message: 'channel_data must be a JSON object' };
  }
  const { user_id: rawId, user_info: userInfo } = value as Record<string, unknown>;
  const userId = typeof rawId === 'number' && Number.isFinite(rawId) ? String(rawId) : rawId;
  if (typeof userId !== 'string' || userId === '') {
    return { ok: false, type: 'BadRequest', status: 400, message: 'channel_data.user_id must be a non-empty string or a number' };
  }
  if (userId.length > MAX_USER_ID_LENGTH) {
    return { ok: false, type: 'BadRequest', status: 400, message: `channel_data.user_id is longer than ${MAX_USER_ID_LENGTH} characters` };
  }
  return { ok: true, member: { userId, userInfo: userInfo ?? {} } };
}
