import type { SwappableAppStore } from '../apps/app-store.js';
import type { AppConfig, HeraldConfig } from '../config/load.js';
import { HeraldError, collectProblems } from '../errors.js';
import { Close } from '../gateway/close-codes.js';
import type { CloseCode } from '../gateway/close-codes.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { diffConfig } from './config-diff.js';
import type { ConfigChanges } from './config-diff.js';

/** A push provider's reload in two steps, so that no provider swaps before every one has checked. */
export interface ReloadableProvider {
  /** Opens and checks the new credentials, throwing when any is unusable; nothing changes until apply(). */
  prepareReload(apps: readonly AppConfig[]): { apply(): void };
}

export interface ReloadTargets {
  apps: SwappableAppStore;
  /** APNs, FCM and Web Push. */
  providers: readonly ReloadableProvider[];
  /** Closes this node's sockets of an app; returns how many. */
  closeApp(appId: string, code: CloseCode, message: string): number;
}

export type ReloadOutcome = { result: 'applied'; changes: ConfigChanges } | { result: 'refused'; reason: string };

/**
 * Re-reads the configuration (SIGHUP) and applies what can change at runtime: the
 * apps, with their APNs, FCM and Web Push credentials. A configuration that does not
 * load, or any of whose credentials do not open, is refused whole and the running one
 * kept: no provider swaps until every provider has checked. Other settings (ports, Redis, queue…)
 * are reported as needing a restart and keep their running values.
 */
export class ConfigReloader {
  private current: HeraldConfig;

  constructor(
    private readonly o: { initial: HeraldConfig; targets: ReloadTargets; log: Logger; metrics: Metrics },
  ) {
    this.current = o.initial;
  }

  /** `load` reads the same sources as start-up: the file, the environment and secret files. */
  reload(load: () => HeraldConfig): ReloadOutcome {
    const { log, metrics, targets } = this.o;
    let next: HeraldConfig;
    let changes: ConfigChanges;
    let swaps: Array<{ apply(): void }>;
    try {
      next = load();
      changes = diffConfig(this.current, next);
      // Checked before anything changes: one credential that does not open, for any provider, refuses the whole reload.
      swaps = prepareAll(targets.providers, next.apps);
    } catch (err) {
      // Config and credential errors name paths and files, never secret values. The running configuration stays.
      const reason = err instanceof Error ? err.message : String(err);
      metrics.configReloads.inc({ status: 'refused' });
      log.error({ reason, source: this.current.source }, 'config reload refused');
      return { result: 'refused', reason };
    }
    for (const swap of swaps) swap.apply();
    targets.apps.replace(next.apps);
    let closed = 0;
    for (const id of changes.removed) closed += targets.closeApp(id, Close.AppUnknown, 'App removed from the configuration');
    for (const id of changes.rekeyed) closed += targets.closeApp(id, Close.AppUnknown, 'App key changed');
    for (const id of changes.disabled) closed += targets.closeApp(id, Close.AppDisabled, 'App disabled');
    // The client reconnects at once and is checked against the new secret.
    for (const id of changes.resecreted) closed += targets.closeApp(id, Close.Reconnect, 'App secret changed, reconnect');
    this.current = { ...this.current, apps: next.apps, demo: next.demo };
    metrics.configReloads.inc({ status: 'applied' });
    const { needsRestart, ...apps } = changes;
    log.info({ ...apps, socketsClosed: closed }, 'config reloaded');
    if (needsRestart.length > 0) log.warn({ settings: needsRestart }, 'config reload: these settings need a restart and were ignored');
    return { result: 'applied', changes };
  }
}

/**
 * Every provider's prepared reload, or one error naming every provider's problems (each
 * provider's message lists its bad apps, keys and files). A bug (not a HeraldError) is
 * thrown as it is.
 */
function prepareAll(providers: readonly ReloadableProvider[], apps: readonly AppConfig[]): Array<{ apply(): void }> {
  const { results, problems } = collectProblems(providers, (provider) => provider.prepareReload(apps));
  if (problems.length > 0) throw new HeraldError('HERALD_CREDENTIALS_INVALID', problems.join('\n'));
  return results;
}
