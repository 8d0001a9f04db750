import type { HeraldConfig } from './load.js';

/** The form of the config that may be logged or printed: secrets and credentials masked. */
export function redactConfig(config: HeraldConfig): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if (key === 'secret' || key === 'passphrase') return '[redacted]';
      if (key === 'url' && typeof value === 'string') return redactUrl(value);
      return value;
    }),
  );
}

/** Masks the password of a URL such as redis://user:pass@host. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '[unparseable url]';
  }
}
