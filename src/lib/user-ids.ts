/**
 * User ids and interest names as Herald accepts them everywhere: a user id ends up in
 * Pusher's `#server-to-user-{id}` channel name, so it uses the channel-name characters;
 * an interest uses the same characters, up to 164 of them.
 */

export const MAX_USER_ID_LENGTH = 128;

const nameChars = /^[A-Za-z0-9_\-=@,.;]+$/;

export const USER_ID_MESSAGE = `must be 1 to ${MAX_USER_ID_LENGTH} characters of A-Z a-z 0-9 _ - = @ , . ; (as a Pusher user id)`;

export function isValidUserId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_USER_ID_LENGTH && nameChars.test(id);
}

export const interestPattern = /^[A-Za-z0-9_\-=@,.;]{1,164}$/;

export const INTEREST_MESSAGE = 'must be 1 to 164 characters of A-Z a-z 0-9 _ - = @ , . ;';
