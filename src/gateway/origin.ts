/**
 * Per-app allowed origins. An empty list allows every origin. Otherwise the
 * `Origin` header must match an entry exactly (case-insensitive, as browsers send
 * scheme and host lower-case), or an entry with `*` wildcards where `*` stands for
 * any run of characters: `*` allows all, `https://*.example.com` allows every
 * subdomain over https. A request without an Origin header is refused when a list
 * is configured.
 */
export function originAllowed(allowed: readonly string[], origin: string | undefined): boolean {
  if (allowed.length === 0) return true;
  if (origin === undefined || origin === '') return allowed.includes('*');
  const candidate = origin.toLowerCase();
  return allowed.some((entry) => (entry.includes('*') ? wildcardPattern(entry).test(candidate) : entry.toLowerCase() === candidate));
}

const patterns = new Map<string, RegExp>();

function wildcardPattern(entry: string): RegExp {
  let pattern = patterns.get(entry);
  if (!pattern) {
    const source = entry
      .toLowerCase()
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    pattern = new RegExp(`^${source}$`);
    patterns.set(entry, pattern);
  }
  return pattern;
}
