import { isDeepStrictEqual } from 'node:util';
import type { AppConfig } from '../../config/load.js';
import { HeraldError } from '../../errors.js';
import type { Service } from '../../lib/service.js';
import type { Provider, ProviderHealth, PushBatch, PushResult } from '../provider.js';
import type { ApnsApp } from './apns-app.js';
import type { Reporter } from './attempt-verdict.js';
import { BatchRun } from '../shared/batch-run.js';
import { ApnsSender } from './apns-sender.js';
import { CredentialGate } from '../shared/credential-gate.js';
import { Draining } from '../shared/draining.js';
import { EXPIRY_WARNING_DAYS, daysUntilExpiry, loadApnsCredentials } from './credentials.js';
import type { ApnsCredentials } from './credentials.js';
import { ConcurrencyLimiter } from '../shared/limiter.js';
import { prepareNotification } from './payload.js';
import { ProviderToken } from './provider-token.js';
import { defaultRetryTuning } from '../shared/retry-policy.js';
import { everyToken, openEveryApp, retryPolicy, stopAtDeadline, stopController, unhealthyApps } from '../shared/provider-shell.js';
import type { PreparedReload, ProviderOptions } from '../shared/provider-shell.js';
import { SessionPool } from '../shared/session-pool.js';
import { appPushMetrics } from '../shared/push-metrics.js';

export interface ApnsProviderOptions extends ProviderOptions {
  /** How long an app whose credentials Apple refused stays closed before one probe request. */
  credentialsCooldownMs?: number;
}

export const DEFAULT_CREDENTIALS_COOLDOWN_MS = 60_000;

interface PoolEntry {
  readonly pool: SessionPool;
  readonly apps: ApnsApp[];
  /** What the pool was built from: a reload keeps the pool while this is unchanged. */
  readonly settings: string;
  /** Replaced by a reload: closes once the batches running on it are done. */
  retired: boolean;
}

type LoadedApp = { app: AppConfig; credentials: ApnsCredentials };

/**
 * Delivers notifications through APNs for every app with an `apns` block. Apps that
 * share a credential (same certificate, or same team + key) share connections and, in
 * token mode, one JWT.
 */
export class ApnsProvider implements Provider, Service {
  readonly name = 'apns';
  readonly kind = 'apns' as const;
  private apps = new Map<string, ApnsApp>();
  private pools = new Map<string, PoolEntry>();
  /** Pools a reload replaced, until the batches sending on them end. */
  private readonly draining: Draining;
  private readonly stopping = stopController();
  private readonly now: () => number;
  private started = false;

  constructor(private readonly options: ApnsProviderOptions) {
    this.now = options.now ?? Date.now;
    this.draining = new Draining((err) => options.log.warn({ err }, 'apns pool did not close cleanly'));
  }

  /** Opens and checks every app's credentials; throws HERALD_CREDENTIALS_INVALID listing every bad one. */
  async start(): Promise<void> {
    const tokens = new Map<string, ProviderToken>();
    for (const [key, members] of groupByPool(this.loadAll(this.options.apps))) {
      const entry = this.createPool(key, members);
      this.pools.set(key, entry);
      for (const { app, credentials } of members) this.apps.set(app.id, this.addApp(app, credentials, entry, tokens));
    }
    this.started = true;
  }

  /**
   * Takes a reloaded configuration. Every app's credentials are opened and checked
   * first: any problem throws (as start() does) and nothing changes. Then apply(): a credential
   * whose pool settings are unchanged keeps its pool and open sessions; a new or
   * changed one (a renewed certificate, a new key) gets a new pool, and the old pool
   * drains: batches already sending on it finish there, then it closes.
   */
  prepareReload(apps: readonly AppConfig[]): PreparedReload {
    const loaded = this.loadAll(apps);
    return { apply: () => this.swap(loaded) };
  }

  /** prepareReload() and its apply() in one step. */
  reload(apps: readonly AppConfig[]): void {
    this.prepareReload(apps).apply();
  }

  private swap(loaded: readonly LoadedApp[]): void {
    const nextApps = new Map<string, ApnsApp>();
    const nextPools = new Map<string, PoolEntry>();
    const tokens = new Map<string, ProviderToken>();
    for (const [key, members] of groupByPool(loaded)) {
      const current = this.pools.get(key);
      const fresh = this.createPool(key, members);
      let entry = fresh;
      if (current && current.settings === fresh.settings) {
        // Building the pool opens nothing (sessions open on the first push), so an unused one is just dropped.
        entry = current;
        for (const app of current.apps) if (app.token) tokens.set(tokenKey(app.credentials), app.token);
      }
      nextPools.set(key, entry);
      const served: ApnsApp[] = [];
      for (const { app, credentials } of members) {
        const old = this.apps.get(app.id);
        // Unchanged: keep it whole, with its limiter and its credential gate's state.
        const kept = old && old.pool === entry.pool && isDeepStrictEqual(old.config, app.apns) ? old : undefined;
        const made = kept ?? this.addApp(app, credentials, entry, tokens);
        served.push(made);
        nextApps.set(app.id, made);
      }
      entry.apps.splice(0, entry.apps.length, ...served);
    }
    for (const [key, entry] of this.pools) if (nextPools.get(key) !== entry) this.retire(entry);
    for (const [id, old] of this.apps) {
      if (nextApps.has(id)) continue;
      old.pushMetrics.removeCredentialsOk();
      this.options.metrics.apnsSessions.remove({ app: id });
      this.options.metrics.apnsCertExpiry.remove({ app: id });
    }
    this.apps = nextApps;
    this.pools = nextPools;
  }

  async stop(deadline: AbortSignal): Promise<void> {
    await this.close(deadline);
  }

  async close(deadline: AbortSignal): Promise<void> {
    const abort = stopAtDeadline(this.stopping, deadline);
    await Promise.all([...[...this.pools.values()].map(({ pool }) => pool.close(deadline)), this.draining.closeAll(deadline)]);
    abort();
  }

  serves(app: string): boolean {
    return this.apps.has(app);
  }

  health(appId: string): ProviderHealth {
    const app = this.apps.get(appId);
    if (!app) return { ok: false, detail: 'no APNs credentials configured' };
    const state = app.gate.current;
    return state.kind === 'open' ? { ok: true } : { ok: false, detail: `credentials refused by APNs: ${state.reason}` };
  }

  /**
   * The apps whose credentials Apple refuses right now, for /ready's warnings. Never a
   * readiness failure: the process still serves every other app (and this one's realtime).
   */
  refusedCredentials(): Array<{ app: string; detail: string }> {
    return unhealthyApps(this.apps.keys(), (app) => this.health(app), 'credentials refused by APNs');
  }

  send(batch: PushBatch, signal: AbortSignal): AsyncIterable<PushResult> {
    if (!this.started) throw new HeraldError('HERALD_INTERNAL', 'ApnsProvider.send() called before start()');
    const app = this.apps.get(batch.app);
    if (!app) return everyToken(batch, { type: 'rejected', reason: 'AppNotConfigured', invalidToken: false, detail: `app ${batch.app} has no APNs credentials` });
    const prepared = prepareNotification(batch, app.config.topic);
    if (!prepared.ok) {
      this.options.log.debug({ app: app.id, notification: batch.notificationId, reason: prepared.problem.reason }, 'apns notification refused before sending');
      return everyToken(batch, { type: 'rejected', reason: prepared.problem.reason, invalidToken: false, detail: prepared.problem.detail });
    }
    const sender = new ApnsSender(app, prepared.notification, this.stopping.signal, this.reporter(app, batch.notificationId), this.now);
    const run = new BatchRun(batch.tokens, sender, signal, this.stopping.signal, this.now);
    return run.results(this.draining.hold([app.pool]));
  }

  /** Every app's credentials opened and checked; throws HERALD_CREDENTIALS_INVALID listing every bad one. */
  private loadAll(apps: readonly AppConfig[]): LoadedApp[] {
    return openEveryApp(apps, (app) => (app.apns ? { app, credentials: loadApnsCredentials(app.id, app.apns, this.now()) } : undefined), 'APNs credentials');
  }

  /** Replaced by a reload: its sessions close (GOAWAY) once no batch sends on it, bounded by the longest request timeout. */
  private retire(entry: PoolEntry): void {
    entry.retired = true;
    this.options.log.info({ apps: entry.apps.map((app) => app.id), running: this.draining.using(entry.pool) }, 'apns pool replaced by reload: draining');
    const withinMs = Math.max(1_000, ...entry.apps.map((app) => app.config.requestTimeoutMs));
    this.draining.retire(entry.pool, (deadline) => entry.pool.close(deadline), withinMs);
  }

  private addApp(config: AppConfig, credentials: ApnsCredentials, entry: PoolEntry, tokens: Map<string, ProviderToken>): ApnsApp {
    const apns = config.apns;
    if (!apns) throw new HeraldError('HERALD_INTERNAL', `app ${config.id} has no apns block`);
    const { log, metrics } = this.options;
    let token: ProviderToken | undefined;
    if (credentials.auth.mode === 'token') {
      const { key, keyId, teamId } = credentials.auth;
      token = tokens.get(tokenKey(credentials)) ?? new ProviderToken({ key, keyId, teamId, now: this.now });
      tokens.set(tokenKey(credentials), token);
    }
    const cooldownMs = this.options.credentialsCooldownMs ?? DEFAULT_CREDENTIALS_COOLDOWN_MS;
    const pushMetrics = appPushMetrics(metrics, 'apns', config.id);
    const app: ApnsApp = {
      id: config.id,
      config: apns,
      credentials,
      pool: entry.pool,
      limiter: new ConcurrencyLimiter(() => Math.min(apns.maxConcurrentStreams, entry.pool.capacity())),
      gate: new CredentialGate(cooldownMs, this.now, (open, state) => {
        pushMetrics.credentialsOk(open);
        if (open) log.info({ app: config.id }, 'apns credentials accepted again');
        else log.error({ app: config.id, reason: state.kind === 'open' ? undefined : state.reason, cooldownMs }, 'apns credentials refused: sending stopped for this app');
      }),
      token,
      retry: retryPolicy(apns.maxAttempts, this.options.retry),
      cooldownMs,
      pushMetrics,
    };
    entry.apps.push(app);
    pushMetrics.credentialsOk(true);
    metrics.apnsSessions.set({ app: config.id }, entry.pool.openSessions);
    this.logCredentials(credentials);
    return app;
  }

  /** One pool per credential and endpoint; sized and timed by the most demanding app sharing it. */
  private createPool(key: string, members: readonly LoadedApp[]): PoolEntry {
    const { log, metrics } = this.options;
    const configs = members.flatMap(({ app }) => (app.apns ? [app.apns] : []));
    const smallest = (pick: (apns: (typeof configs)[number]) => number): number => Math.min(...configs.map(pick));
    const { endpoint, auth } = (members[0] as (typeof members)[number]).credentials;
    const tls = auth.mode === 'certificate' ? { ...auth.tls } : {};
    const apps: ApnsApp[] = [];
    const size = Math.max(...configs.map((apns) => apns.connections));
    const session = {
      host: endpoint.host,
      port: endpoint.port,
      tls: Object.assign(tls, endpoint.ca === undefined ? {} : { ca: endpoint.ca }),
      connectTimeoutMs: smallest((apns) => apns.requestTimeoutMs),
      pingIntervalMs: smallest((apns) => apns.pingIntervalMs),
      pingTimeoutMs: smallest((apns) => Math.min(apns.pingIntervalMs, apns.requestTimeoutMs)),
    };
    const pool = new SessionPool({
      key,
      size,
      session,
      clientCertificate: auth.mode === 'certificate',
      connectBackoff: this.options.retry?.backoff ?? defaultRetryTuning.backoff,
      log,
      now: this.now,
      onCapacity: () => apps.forEach((app) => app.limiter.changed()),
      // A pool a reload replaced no longer speaks for its apps' session gauge.
      onSessionCount: (count) => apps.forEach((app) => entry.retired || metrics.apnsSessions.set({ app: app.id }, count)),
      onReplaced: (reason) => apps.forEach((app) => metrics.apnsSessionsReplaced.inc({ app: app.id, reason })),
    });
    // The key holds the credential's fingerprint or key hash, so equal settings mean the same credential.
    const entry: PoolEntry = { pool, apps, settings: JSON.stringify({ key, size, session: Object.assign({}, session, { tls: Object.keys(session.tls).sort() }) }), retired: false };
    return entry;
  }

  private logCredentials(credentials: ApnsCredentials): void {
    const { log, metrics } = this.options;
    const { auth, endpoint } = credentials;
    const where = `${endpoint.host}:${endpoint.port}`;
    if (auth.mode === 'token') {
      log.info({ app: credentials.app, auth: 'token', keyId: auth.keyId, teamId: auth.teamId, file: auth.file, topic: credentials.topic, endpoint: where }, 'apns credentials loaded');
      return;
    }
    const cert = auth.certificate;
    metrics.apnsCertExpiry.set({ app: credentials.app }, Math.floor(cert.notAfter.getTime() / 1000));
    log.info(
      { app: credentials.app, auth: `certificate (${auth.format})`, file: auth.file, subject: cert.subject, topics: cert.topics, environment: cert.environment, notAfter: cert.notAfter.toISOString(), endpoint: where },
      'apns credentials loaded',
    );
    const daysLeft = daysUntilExpiry(credentials, this.now()) ?? Infinity;
    if (daysLeft < EXPIRY_WARNING_DAYS) log.warn({ app: credentials.app, file: auth.file, notAfter: cert.notAfter.toISOString(), daysLeft }, 'apns certificate expires soon');
  }

  private reporter(app: ApnsApp, notificationId: string): Reporter {
    const { events } = this.options;
    const { request, retry, inFlight, invalidToken } = app.pushMetrics;
    return {
      request,
      retry,
      inFlight,
      invalidToken: (token, reason, timestamp) => {
        invalidToken(reason);
        events.emit('apns.token_invalid', { app: app.id, notificationId, token, reason, ...(timestamp === undefined ? {} : { timestamp }) });
      },
    };
  }
}

function groupByPool(loaded: readonly LoadedApp[]): Map<string, LoadedApp[]> {
  const groups = new Map<string, LoadedApp[]>();
  for (const entry of loaded) groups.set(entry.credentials.poolKey, [...(groups.get(entry.credentials.poolKey) ?? []), entry]);
  return groups;
}

/** Apps on the same team and key share one JWT, whatever their endpoint. */
function tokenKey(credentials: ApnsCredentials): string {
  return credentials.poolKey.split('@')[0] as string;
}
