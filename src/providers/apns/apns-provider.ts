import { setMaxListeners } from 'node:events';
import type { AppConfig } from '../../config/load.js';
import type { EventBus } from '../../events.js';
import { HeraldError } from '../../errors.js';
import type { BackoffPolicy } from '../../lib/backoff.js';
import type { Service } from '../../lib/service.js';
import type { Logger } from '../../log/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Provider, ProviderHealth, PushBatch, PushResult } from '../provider.js';
import type { ApnsApp } from './apns-app.js';
import type { Reporter } from './attempt-verdict.js';
import { BatchRun } from './batch-run.js';
import { CredentialGate } from './credential-gate.js';
import { EXPIRY_WARNING_DAYS, daysUntilExpiry, loadApnsCredentials } from './credentials.js';
import type { ApnsCredentials } from './credentials.js';
import { ConcurrencyLimiter } from './limiter.js';
import { prepareNotification } from './payload.js';
import { ProviderToken } from './provider-token.js';
import { defaultRetryTuning } from './retry-policy.js';
import { SessionPool } from './session-pool.js';

export interface ApnsProviderOptions {
  /** Every configured app; those with an `apns` block are served. */
  apps: readonly AppConfig[];
  log: Logger;
  metrics: Metrics;
  events: EventBus;
  /** Clock for JWT age, cool-downs and certificate expiry; tests move it. */
  now?: () => number;
  /** Backoff for 5xx, network errors and connects, and the longest wait spent inside a batch. */
  retry?: { backoff?: BackoffPolicy; maxInlineWaitMs?: number };
  /** How long an app whose credentials Apple refused stays closed before one probe request. */
  credentialsCooldownMs?: number;
}

export const DEFAULT_CREDENTIALS_COOLDOWN_MS = 60_000;

interface PoolEntry {
  readonly pool: SessionPool;
  readonly apps: ApnsApp[];
}

/**
 * Delivers notifications through APNs for every app with an `apns` block. Apps that
 * share a credential (same certificate, or same team + key) share connections and, in
 * token mode, one JWT.
 */
export class ApnsProvider implements Provider, Service {
  readonly name = 'apns';
  readonly kind = 'apns' as const;
  private readonly apps = new Map<string, ApnsApp>();
  private readonly pools = new Map<string, PoolEntry>();
  private readonly stopping = new AbortController();
  private readonly now: () => number;
  private started = false;

  constructor(private readonly options: ApnsProviderOptions) {
    this.now = options.now ?? Date.now;
    // Every batch being sent, and every request waiting for a session, listens for the stop: dozens at once is normal.
    setMaxListeners(0, this.stopping.signal);
  }

  /** Opens and checks every app's credentials; throws HERALD_CREDENTIALS_INVALID listing every bad one. */
  async start(): Promise<void> {
    const problems: string[] = [];
    const loaded: Array<{ app: AppConfig; credentials: ApnsCredentials }> = [];
    for (const app of this.options.apps) {
      if (!app.apns) continue;
      try {
        loaded.push({ app, credentials: loadApnsCredentials(app.id, app.apns, this.now()) });
      } catch (err) {
        if (!(err instanceof HeraldError)) throw err;
        problems.push(err.message);
      }
    }
    if (problems.length > 0) throw new HeraldError('HERALD_CREDENTIALS_INVALID', `APNs credentials cannot be used:\n  - ${problems.join('\n  - ')}`);
    const groups = new Map<string, typeof loaded>();
    for (const entry of loaded) groups.set(entry.credentials.poolKey, [...(groups.get(entry.credentials.poolKey) ?? []), entry]);
    const tokens = new Map<string, ProviderToken>();
    for (const [key, members] of groups) {
      const pool = this.createPool(key, members);
      for (const { app, credentials } of members) this.addApp(app, credentials, pool, tokens);
    }
    this.started = true;
  }

  async stop(deadline: AbortSignal): Promise<void> {
    await this.close(deadline);
  }

  async close(deadline: AbortSignal): Promise<void> {
    const abort = (): void => this.stopping.abort(new HeraldError('HERALD_SHUTTING_DOWN'));
    if (deadline.aborted) abort();
    else deadline.addEventListener('abort', abort, { once: true });
    await Promise.all([...this.pools.values()].map(({ pool }) => pool.close(deadline)));
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
    return [...this.apps.keys()].flatMap((app) => {
      const health = this.health(app);
      return health.ok ? [] : [{ app, detail: health.detail ?? 'credentials refused by APNs' }];
    });
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
    const run = new BatchRun(app, batch, prepared.notification, signal, this.stopping.signal, this.reporter(app.id, batch.notificationId), this.now);
    return run.results();
  }

  private addApp(config: AppConfig, credentials: ApnsCredentials, entry: PoolEntry, tokens: Map<string, ProviderToken>): void {
    const apns = config.apns;
    if (!apns) return;
    const { log, metrics } = this.options;
    let token: ProviderToken | undefined;
    if (credentials.auth.mode === 'token') {
      const { key, keyId, teamId } = credentials.auth;
      const tokenKey = credentials.poolKey.split('@')[0] as string;
      token = tokens.get(tokenKey) ?? new ProviderToken({ key, keyId, teamId, now: this.now });
      tokens.set(tokenKey, token);
    }
    const cooldownMs = this.options.credentialsCooldownMs ?? DEFAULT_CREDENTIALS_COOLDOWN_MS;
    const app: ApnsApp = {
      id: config.id,
      config: apns,
      credentials,
      pool: entry.pool,
      limiter: new ConcurrencyLimiter(() => Math.min(apns.maxConcurrentStreams, entry.pool.capacity())),
      gate: new CredentialGate(cooldownMs, this.now, (open, state) => {
        metrics.apnsCredentialsOk.set({ app: config.id }, open ? 1 : 0);
        if (open) log.info({ app: config.id }, 'apns credentials accepted again');
        else log.error({ app: config.id, reason: state.kind === 'open' ? undefined : state.reason, cooldownMs }, 'apns credentials refused: sending stopped for this app');
      }),
      token,
      retry: { maxAttempts: apns.maxAttempts, backoff: this.options.retry?.backoff ?? defaultRetryTuning.backoff, maxInlineWaitMs: this.options.retry?.maxInlineWaitMs ?? defaultRetryTuning.maxInlineWaitMs },
      cooldownMs,
    };
    entry.apps.push(app);
    this.apps.set(config.id, app);
    metrics.apnsCredentialsOk.set({ app: config.id }, 1);
    metrics.apnsSessions.set({ app: config.id }, entry.pool.openSessions);
    this.logCredentials(credentials);
  }

  /** One pool per credential and endpoint; sized and timed by the most demanding app sharing it. */
  private createPool(key: string, members: ReadonlyArray<{ app: AppConfig; credentials: ApnsCredentials }>): PoolEntry {
    const { log, metrics } = this.options;
    const configs = members.flatMap(({ app }) => (app.apns ? [app.apns] : []));
    const smallest = (pick: (apns: (typeof configs)[number]) => number): number => Math.min(...configs.map(pick));
    const { endpoint, auth } = (members[0] as (typeof members)[number]).credentials;
    const tls = auth.mode === 'certificate' ? { ...auth.tls } : {};
    const apps: ApnsApp[] = [];
    const pool = new SessionPool({
      key,
      size: Math.max(...configs.map((apns) => apns.connections)),
      session: {
        host: endpoint.host,
        port: endpoint.port,
        tls: { ...tls, ...(endpoint.ca === undefined ? {} : { ca: endpoint.ca }) },
        connectTimeoutMs: smallest((apns) => apns.requestTimeoutMs),
        pingIntervalMs: smallest((apns) => apns.pingIntervalMs),
        pingTimeoutMs: smallest((apns) => Math.min(apns.pingIntervalMs, apns.requestTimeoutMs)),
      },
      clientCertificate: auth.mode === 'certificate',
      connectBackoff: this.options.retry?.backoff ?? defaultRetryTuning.backoff,
      log,
      now: this.now,
      onCapacity: () => apps.forEach((app) => app.limiter.changed()),
      onSessionCount: (count) => apps.forEach((app) => metrics.apnsSessions.set({ app: app.id }, count)),
      onReplaced: (reason) => apps.forEach((app) => metrics.apnsSessionsReplaced.inc({ app: app.id, reason })),
    });
    const entry = { pool, apps };
    this.pools.set(key, entry);
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

  private reporter(app: string, notificationId: string): Reporter {
    const { metrics, events } = this.options;
    return {
      request: (status, reason, seconds) => {
        metrics.apnsRequests.inc({ app, status, reason });
        if (seconds !== undefined) metrics.apnsDuration.observe({ app }, seconds);
      },
      retry: (reason) => metrics.apnsRetries.inc({ app, reason }),
      invalidToken: (token, reason, timestamp) => {
        metrics.apnsInvalidTokens.inc({ app, reason });
        events.emit('apns.token_invalid', { app, notificationId, token, reason, ...(timestamp === undefined ? {} : { timestamp }) });
      },
      inFlight: (delta) => metrics.apnsInFlight.inc({ app }, delta),
    };
  }
}

async function* everyToken(batch: PushBatch, outcome: PushResult['outcome']): AsyncGenerator<PushResult> {
  for (const [index, token] of batch.tokens.entries()) yield { token, index, outcome };
}
