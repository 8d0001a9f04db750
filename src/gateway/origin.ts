/**
 * Per-app allowed origins. An empty list allows every origin; `*` alone allows every
 * origin, even none. Otherwise the `Origin` header is parsed as a URL (scheme, host,
 * port; anything else such as a path makes it invalid) and must match an entry:
 * - `https://app.example.com` — that scheme, host and default port;
 * - `https://*.example.com` — any subdomain (one or more labels) over https on the default port;
 * - `https://app-*.example.com:*` — `*` inside a label matches within that label only, `:*` any port;
 * - `*.example.com` — no scheme or port in the entry: only the host is checked.
 * Matching is by host labels, never by characters, so `https://evil.com/.example.com`
 * matches nothing. A request without an Origin header is refused when a list is set.
 */
export function originAllowed(allowed: readonly string[], origin: string | undefined): boolean {
  if (allowed.length === 0 || allowed.includes('*')) return true;
  if (origin === undefined || origin === '') return false;
  const candidate = parseOrigin(origin);
  if (!candidate) return false;
  return allowed.some((entry) => patternOf(entry)?.(candidate) ?? false);
}

interface OriginParts {
  scheme: string;
  /** Lower-case labels, as the URL parser normalises them. */
  labels: string[];
  /** '' for the scheme's default port. */
  port: string;
}

function parseOrigin(origin: string): OriginParts | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  // A browser's Origin is scheme://host[:port] and nothing more; anything else is forged or broken.
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/' || origin.endsWith('/')) return undefined;
  if (!url.hostname) return undefined;
  return { scheme: url.protocol.slice(0, -1), labels: url.hostname.split('.'), port: url.port };
}

type Pattern = (origin: OriginParts) => boolean;

const patterns = new Map<string, Pattern | undefined>();

/** Undefined for an entry that cannot match any origin (e.g. one with a path). */
function patternOf(entry: string): Pattern | undefined {
  if (!patterns.has(entry)) patterns.set(entry, compile(entry.toLowerCase()));
  return patterns.get(entry);
}

function compile(entry: string): Pattern | undefined {
  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/.exec(entry);
  const scheme = schemeMatch?.[1];
  const authority = schemeMatch ? (schemeMatch[2] ?? '') : entry;
  const hostPort = /^(\[[^\]]*\]|[^:/?#@[\]]+)(?::(\*|\d{1,5}))?$/.exec(authority);
  if (!hostPort) return undefined;
  const host = hostPort[1] ?? '';
  const port = hostPort[2];
  const labels = host.startsWith('[') ? [host] : host.split('.');
  const leadingWildcard = labels[0] === '*' && labels.length > 1;
  const fixed = (leadingWildcard ? labels.slice(1) : labels).map(labelMatcher);
  return (origin) => {
    if (scheme !== undefined && origin.scheme !== scheme) return false;
    if (scheme !== undefined && port === undefined && origin.port !== '') return false;
    if (port !== undefined && port !== '*' && origin.port !== normalPort(port, origin.scheme)) return false;
    const count = fixed.length;
    if (leadingWildcard ? origin.labels.length <= count : origin.labels.length !== count) return false;
    const tail = origin.labels.slice(origin.labels.length - count);
    return tail.every((label, index) => fixed[index]?.(label) ?? false);
  };
}

function labelMatcher(label: string): (candidate: string) => boolean {
  if (!label.includes('*')) return (candidate) => candidate === label;
  const source = label
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^.]*');
  const pattern = new RegExp(`^${source}$`);
  return (candidate) => pattern.test(candidate);
}

/** The URL parser drops a default port, so an entry saying `:443` for https matches ''. */
function normalPort(port: string, scheme: string): string {
  const defaults: Record<string, string> = { http: '80', https: '443', ws: '80', wss: '443' };
  return defaults[scheme] === String(Number(port)) ? '' : String(Number(port));
}
