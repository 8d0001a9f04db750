import { readFileSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import type { HeraldConfig } from '../config/load.js';
import { isHeraldError } from '../errors.js';

/** Where a CLI command reaches the daemon and with which app's credentials. */
export interface AppTarget {
  url: string;
  app: string;
  key: string;
  secret: string;
}

export interface TargetFlags {
  app: string;
  url?: string | undefined;
  key?: string | undefined;
  secret?: string | undefined;
  config?: string | undefined;
}

export type TargetResult = { ok: true; target: AppTarget; config: HeraldConfig | undefined } | { ok: false; error: string };

/**
 * Credentials: --key/--secret, else HERALD_APP_KEY/HERALD_APP_SECRET(_FILE), else the
 * app of that id in --config (or HERALD_CONFIG, or the embedded demo app).
 * URL: --url, else HERALD_URL, else the configured server address.
 */
export function resolveAppTarget(flags: TargetFlags, env: NodeJS.ProcessEnv = process.env): TargetResult {
  let key = flags.key ?? env.HERALD_APP_KEY;
  let secret = flags.secret ?? env.HERALD_APP_SECRET;
  if (secret === undefined && env.HERALD_APP_SECRET_FILE !== undefined) {
    try {
      secret = readFileSync(env.HERALD_APP_SECRET_FILE, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      return { ok: false, error: `HERALD_APP_SECRET_FILE: cannot read ${env.HERALD_APP_SECRET_FILE}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
    }
  }
  if ((flags.key === undefined) !== (flags.secret === undefined)) return { ok: false, error: '--key and --secret go together' };
  let url = flags.url ?? env.HERALD_URL;
  let config: HeraldConfig | undefined;
  if (key === undefined || secret === undefined || url === undefined) {
    try {
      config = loadConfig({ file: flags.config, env });
    } catch (err) {
      if (isHeraldError(err)) return { ok: false, error: err.message };
      throw err;
    }
    url ??= `http://${connectableHost(config.server.host)}:${config.server.port}`;
    if (key === undefined || secret === undefined) {
      const app = config.apps.find((candidate) => candidate.id === flags.app);
      if (!app) {
        return {
          ok: false,
          error: `app '${flags.app}' is not in the configuration (${config.source}); give --key and --secret, or --config with that app`,
        };
      }
      key = app.key;
      secret = app.secret;
    }
  }
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return { ok: false, error: `--url must be http(s), got ${parsed.protocol}` };
  } catch {
    return { ok: false, error: `--url is not a URL: '${url}'` };
  }
  return { ok: true, target: { url, app: flags.app, key, secret }, config };
}

/** A wildcard listen address is not something to connect to. */
function connectableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
