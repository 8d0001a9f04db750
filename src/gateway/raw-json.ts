/**
 * Reading caller JSON as the bytes it arrived in. Re-serializing untrusted values is not
 * total (JSON.stringify recurses and throws RangeError a few thousand levels deep), so
 * sizes are taken from, and relays copy, the received text. Every scan here is a loop
 * over the bytes, whatever the nesting.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

export interface Span {
  readonly start: number;
  readonly end: number;
}

const isSpace = (byte: number | undefined): boolean => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;

function skipSpace(bytes: Uint8Array, at: number): number {
  let i = at;
  while (isSpace(bytes[i])) i += 1;
  return i;
}

/** The index just past the string starting at `at` (an opening quote), or -1 if unterminated. */
function skipString(bytes: Uint8Array, at: number): number {
  for (let i = at + 1; i < bytes.length; i += 1) {
    const byte = bytes[i];
    if (byte === BACKSLASH) i += 1;
    else if (byte === QUOTE) return i + 1;
  }
  return -1;
}

/** The index just past the value starting at `at`, or -1 if the text ends first. */
function skipValue(bytes: Uint8Array, at: number): number {
  const first = bytes[at];
  if (first === QUOTE) return skipString(bytes, at);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0;
    for (let i = at; i < bytes.length; i += 1) {
      const byte = bytes[i];
      if (byte === QUOTE) {
        i = skipString(bytes, i);
        if (i < 0) return -1;
        i -= 1;
      } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        depth += 1;
      } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
        depth -= 1;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  // A number or literal: runs to the next delimiter.
  let i = at;
  while (i < bytes.length && bytes[i] !== COMMA && bytes[i] !== CLOSE_OBJECT && bytes[i] !== CLOSE_ARRAY && !isSpace(bytes[i])) i += 1;
  return i > at ? i : -1;
}

function keyMatches(bytes: Buffer, start: number, end: number, name: string): boolean {
  const inner = bytes.subarray(start + 1, end - 1);
  if (!inner.includes(BACKSLASH)) return inner.equals(Buffer.from(name));
  // An escaped key ("d\u0061ta") names the same member once decoded; keys are short strings, so parsing one is bounded.
  try {
    return JSON.parse(bytes.toString('utf8', start, end)) === name;
  } catch {
    return false;
  }
}

/**
 * Where the value of top-level member `name` lies in `bytes`, a JSON object that
 * JSON.parse has accepted. With duplicate keys the last wins, as in JSON.parse.
 * Undefined when there is no such member (or the text is not an object after all).
 */
export function memberSpan(bytes: Buffer, name: string): Span | undefined {
  let i = skipSpace(bytes, 0);
  if (bytes[i] !== OPEN_OBJECT) return undefined;
  i = skipSpace(bytes, i + 1);
  let found: Span | undefined;
  while (bytes[i] === QUOTE) {
    const keyStart = i;
    const keyEnd = skipString(bytes, i);
    if (keyEnd < 0) return undefined;
    i = skipSpace(bytes, keyEnd);
    if (bytes[i] !== COLON) return undefined;
    const start = skipSpace(bytes, i + 1);
    const end = skipValue(bytes, start);
    if (end < 0) return undefined;
    if (keyMatches(bytes, keyStart, keyEnd, name)) found = { start, end };
    i = skipSpace(bytes, end);
    if (bytes[i] !== COMMA) break;
    i = skipSpace(bytes, i + 1);
  }
  return bytes[i] === CLOSE_OBJECT ? found : undefined;
}

/**
 * How deep presence and sign-in `user_info` may nest. Members are stored, repeated in
 * presence replies and serialized again and again; a value nested deeper than any real
 * profile is refused when it arrives instead of failing somewhere later.
 */
export const MAX_USER_INFO_DEPTH = 64;
