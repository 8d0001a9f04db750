/** A key that reads unambiguously after a dot; any other is written as `["…"]` (JSON-quoted). */
const PLAIN_KEY = /^[^.[\]"\\\s]+$/;

/**
 * A validation issue's path as users write it: `['apns', 'tokens', 3]` → `apns.tokens[3]`.
 * A key holding `.`, brackets, quotes or spaces is quoted (`apns["a.b"]`), so the path
 * always leads back to the one value it names.
 */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      if (!PLAIN_KEY.test(key)) out += `[${JSON.stringify(key)}]`;
      else out += out === '' ? key : `.${key}`;
    }
  }
  return out;
}

/** A key that reads as a name: letters, digits, `_`, `.` and `-`, at most 64 of them. */
export const NAME_LIKE_KEY = /^[\w.-]{1,64}$/;

/**
 * `formatPath` for files that may hold secrets (configuration, key files): a key that is
 * not name-like may be a value that lost its `: ` (`Authorization <token>` after a lost
 * newline), so it is shown by its length only.
 */
export function formatSecretFilePath(path: ReadonlyArray<PropertyKey>): string {
  return formatPath(path.map((part) => (typeof part === 'string' && !NAME_LIKE_KEY.test(part) ? `<a key of ${part.length} characters>` : part)));
}
