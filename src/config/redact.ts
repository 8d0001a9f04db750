import type { HeraldConfig } from './load.js';

/** The form of the config that may be logged or printed: secrets and credentials masked. */
export function redactConfig(config: HeraldConfig): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if (key === 'secret' || key === 'passphrase' || key === 'privateKey') return '[redacted]';
      if (key === 'console' && value && typeof value === 'object' && 'token' in value) return { ...value, token: '[redacted]' };
      // Webhook headers typically carry credentials: keep the names, hide the values.
      if (key === 'headers' && value && typeof value === 'object') {
        return Object.fromEntries(Object.keys(value).map((name) => [name, '[redacted]']));
      }
      if (key === 'url' && typeof value === 'string') return redactUrl(value);
      return value;
    }),
  );
}

/**
 * Masks the credentials of a URL such as redis://user:pass@host. Only scheme, host, port
 * and a database number are kept: a query (?password=...) or an odd path may hold a secret.
 */
export function redactUrl(value: string): string {
  try {
    let url = new URL(value);
    const at = value.lastIndexOf('@');
    // An '@' the parser did not read as the end of user-info (a lost ':' or '/' in the
    // credentials): what precedes it may hold the password, even in the "host". Keep only what follows.
    if (at >= 0 && !url.username && !url.password) {
      url = new URL(`${url.protocol}//${value.slice(at + 1)}`);
      url.username = '***';
    }
    if (url.password) url.password = '***';
    // redis://secret@host: Redis clients read a lone user-info part as the password.
    else if (url.username) url.username = '***';
    const credentials = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
    const path = url.pathname === '' || /^\/\d{0,2}$/.test(url.pathname) ? url.pathname : '/[redacted]';
    return `${url.protocol}//${credentials}${url.host}${path}${url.search ? '?[redacted]' : ''}`;
  } catch {
    return '[unparseable url]';
  }
}
