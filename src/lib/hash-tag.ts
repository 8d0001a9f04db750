/**
 * True when keys starting with `key` carry a hash tag. A Redis Cluster hashes only the
 * part between the first `{` and the next `}`, when that part is not empty, so keys
 * sharing a tag share a slot (and may be used together in one script).
 */
export function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  if (open < 0) return false;
  const close = key.indexOf('}', open + 1);
  return close > open + 1;
}

