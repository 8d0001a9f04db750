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
