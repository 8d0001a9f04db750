import { isDeepStrictEqual } from 'node:util';
import type { AppConfig, HeraldConfig } from '../config/load.js';
import { leafPaths } from '../config/load.js';

/** What a reloaded configuration changes, by app id; never a value (secrets). */
export interface ConfigChanges {
  added: string[];
  removed: string[];
  /** Enabled before, `enabled: false` now. */
  disabled: string[];
  /** Same id, another key: sockets that connected with the old key name an app that no longer exists. */
  rekeyed: string[];
  /** Same id and key, another secret: open sockets would keep checking auth with the old one. */
  resecreted: string[];
  /** Anything else about the app (limits, webhooks, origins, APNs): applies to what comes next. */
  changed: string[];
  /** Settings outside apps[] that differ (by path): they take effect only after a restart. */
  needsRestart: string[];
}

export function diffConfig(current: HeraldConfig, next: HeraldConfig): ConfigChanges {
  const before = new Map(current.apps.map((app) => [app.id, app]));
  const after = new Map(next.apps.map((app) => [app.id, app]));
  const changes: ConfigChanges = { added: [], removed: [], disabled: [], rekeyed: [], resecreted: [], changed: [], needsRestart: restartOnly(current, next) };
  for (const id of before.keys()) if (!after.has(id)) changes.removed.push(id);
  for (const [id, app] of after) {
    const old = before.get(id);
    if (!old) changes.added.push(id);
    else if (old.enabled && !app.enabled) changes.disabled.push(id);
    else if (old.key !== app.key) changes.rekeyed.push(id);
    else if (old.secret !== app.secret) changes.resecreted.push(id);
    else if (!isDeepStrictEqual(plain(old), plain(app))) changes.changed.push(id);
  }
  return changes;
}

/** Every leaf outside apps[] whose value differs (ports, Redis, queue, gateway, …). */
function restartOnly(current: HeraldConfig, next: HeraldConfig): string[] {
  const leaves = (config: HeraldConfig): Map<string, unknown> => {
    const { apps: _apps, demo: _demo, source: _source, ...rest } = config;
    return new Map(leafPaths(rest));
  };
  const a = leaves(current);
  const b = leaves(next);
  const paths = new Set([...a.keys(), ...b.keys()]);
  return [...paths].filter((path) => !isDeepStrictEqual(a.get(path), b.get(path))).sort();
}

/** Configs are deep-frozen; compare them as plain data. */
function plain(app: AppConfig): unknown {
  return JSON.parse(JSON.stringify(app));
}
