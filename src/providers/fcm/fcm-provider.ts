import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { AppConfig, AppFcmConfig } from '../../config/load.js';
import { HeraldError } from '../../errors.js';
import type { Service } from '../../lib/service.js';
import type { Provider, ProviderHealth, PushBatch, PushResult } from '../provider.js';
import { CredentialGate } from '../shared/credential-gate.js';
import type { GateState } from '../shared/credential-gate.js';
import { Draining } from '../shared/draining.js';
import { ConcurrencyLimiter } from '../shared/limiter.js';
import { defaultRetryTuning } from '../shared/retry-policy.js';
import { everyToken, openEveryApp, retryPolicy, stopAtDeadline, stopController, unhealthyApps } from '../shared/provider-shell.js';
import type { PreparedReload, ProviderOptions } from '../shared/provider-shell.js';
import { SessionPool } from '../shared/session-pool.js';
import type { SessionPoolOptions } from '../shared/session-pool.js';
import { appPushMetrics } from '../shared/push-metrics.js';
import { AccessToken } from './access-token.js';
import type { TokenState } from './access-token.js';
import type { FcmApp } from './fcm-app.js';
import { BatchRun } from '../shared/batch-run.js';
import { FcmSender } from './fcm-sender.js';
import { loadFcmCredentials } from './fcm-credentials.js';
import type { FcmCredentials } from './fcm-credentials.js';
import { prepareFcmMessage } from './fcm-message.js';
import type { FcmReporter } from './fcm-verdict.js';
import type { TokenFetch } from './token-endpoint.js';

export interface FcmProviderOptions extends ProviderOptions {
  /** How long an app whose credentials Google refused stays closed before one probe request. */
  credentialsCooldownMs?: number;
  /** How the OAuth2 token is fetched (tests count or replace it). */
  tokenFetch?: TokenFetch;
}

export const DEFAULT_FCM_CREDENTIALS_COOLDOWN_MS = 60_000;

interface PoolEntry {
  readonly pool: SessionPool;
  /** What the pool was built from: a reload keeps the pool while this is unchanged. */
  readonly settings: string;
  /** The limiters of the apps on the pool: a session opening or closing changes their capacity. */
  readonly limiters: Set<ConcurrencyLimiter>;
}

interface TokenEntry {
  readonly accessToken: AccessToken;
  /** What the token fetches with besides the service account (timeout, CA): a reload keeps the token while this is unchanged. */
  readonly settings: string;
  /** The app its fetches are counted under (herald_fcm_token_requests_total). */
  readonly owner: string;
}

type LoadedApp = { id: string; fcm: AppFcmConfig; credentials: FcmCredentials };

/**
 * Delivers notifications through FCM HTTP v1 for every app with an `fcm` block: one
 * HTTP/2 connection pool per project and endpoint, one access token per service
 * account, a bounded number of requests in flight per app.
 */
export class FcmProvider implements Provider, Service {
  readonly name = 'fcm';
  readonly kind = 'fcm' as const;
  private apps = new Map<string, FcmApp>();
  private pools = new Map<string, PoolEntry>();
  private tokens = new Map<string, TokenEntry>();
  /** Pools and apps a reload replaced, until the batches running on them end. */
  private readonly draining: Draining;
  private readonly stopping = stopController();
  private readonly now: () => number;
  private started = false;

  constructor(private readonly options: FcmProviderOptions) {
    this.now = options.now ?? Date.now;
    this.draining = new Draining((err) => options.log.warn({ err }, 'fcm pool replaced by reload did not close cleanly'));
  }

  /** Opens every app's credentials; throws HERALD_CREDENTIALS_INVALID listing every bad one. Fetches no token yet, opens no connection. */
  async start(): Promise<void> {
    this.swap(this.loadAll(this.options.apps));
    this.started = true;
  }

  /**
   * Takes a reloaded configuration. Every app's credentials are opened and checked first:
   * any problem throws (as start() does) and nothing changes. Then apply() swaps: an
   * unchanged app keeps its pool, access token and credential gate; a new or changed one
   * gets its own (a rotated key: a new token; another endpoint or pool setting: a new
   * pool, the old one closing once the batches running on it end), and an access token
   * is fetched for it at once, as at start-up. A removed app is not served from then on,
   * and its gauges go when its last running batch ends.
   */
  prepareReload(apps: readonly AppConfig[]): PreparedReload {
    const loaded = this.loadAll(apps);
    return {
      apply: () => {
        const made = this.swap(loaded);
        void this.probeCredentials(made).catch((err: unknown) => this.options.log.warn({ err }, 'fcm credentials probe failed'));
      },
    };
  }

  /** prepareReload() and its apply() in one step. */
  reload(apps: readonly AppConfig[]): void {
    this.prepareReload(apps).apply();
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
    if (!app) return { ok: false, detail: 'no FCM credentials configured' };
    const state = app.gate.current;
    return state.kind === 'open' ? { ok: true } : { ok: false, detail: `credentials refused by FCM: ${state.reason}` };
  }

  /** The apps whose credentials Google refuses right now, for /ready's warnings (never a readiness failure). */
  refusedCredentials(): Array<{ app: string; detail: string }> {
    return unhealthyApps(this.apps.keys(), (app) => this.health(app), 'credentials refused by FCM');
  }

  /**
   * Fetches an access token for `appId`: proves the service account is accepted. A refusal
   * (invalid_grant: a deleted key, a wrong clock) closes the app's credential gate as a
   * refused send would, so health() and herald_push_credentials_ok{provider="fcm"} say so
   * before any push.
   */
  async checkCredentials(appId: string): Promise<TokenState> {
    const app = this.apps.get(appId);
    if (!app) return { kind: 'refused', reason: 'AppNotConfigured', status: 0 };
    const state = await app.accessToken.current();
    if (state.kind === 'refused') app.gate.refuse(state.reason, state.status);
    return state;
  }

  /** checkCredentials() for these apps, every app by default (main.ts runs it after start, without waiting): the first pushes also find a token ready. */
  async probeCredentials(apps: Iterable<string> = this.apps.keys()): Promise<void> {
    await Promise.all([...apps].map((app) => this.checkCredentials(app)));
  }

  send(batch: PushBatch, signal: AbortSignal): AsyncIterable<PushResult> {
    if (!this.started) throw new HeraldError('HERALD_INTERNAL', 'FcmProvider.send() called before start()');
    const app = this.apps.get(batch.app);
    if (!app) return everyToken(batch, { type: 'rejected', reason: 'AppNotConfigured', invalidToken: false, detail: `app ${batch.app} has no FCM credentials` });
    const prepared = prepareFcmMessage(batch, this.now());
    if (!prepared.ok) {
      this.options.log.debug({ app: app.id, notification: batch.notificationId, reason: prepared.reason }, 'fcm message refused before sending');
      return everyToken(batch, { type: 'rejected', reason: prepared.reason, invalidToken: false, detail: prepared.detail });
    }
    const sender = new FcmSender(app, prepared.message, this.stopping.signal, this.reporter(app, batch.notificationId), this.now);
    return new BatchRun(batch.tokens, sender, signal, this.stopping.signal, this.now).results(this.draining.hold([app.pool, app]));
  }

  /** Every app's credentials opened; throws HERALD_CREDENTIALS_INVALID listing every bad one. Changes nothing. */
  private loadAll(apps: readonly AppConfig[]): LoadedApp[] {
    return openEveryApp(apps, ({ id, fcm }) => (fcm ? { id, fcm, credentials: loadFcmCredentials(id, fcm) } : undefined), 'FCM credentials');
  }

  /** Serves exactly `loaded` from now on, keeping what did not change; returns the apps made anew. */
  private swap(loaded: readonly LoadedApp[]): string[] {
    const nextApps = new Map<string, FcmApp>();
    const nextPools = new Map<string, PoolEntry>();
    const nextTokens = new Map<string, TokenEntry>();
    const users = new Map<string, string[]>();
    for (const { id, credentials } of loaded) users.set(credentials.tokenKey, [...(users.get(credentials.tokenKey) ?? []), id]);
    const made: string[] = [];
    for (const { id, fcm, credentials } of loaded) {
      const entry = this.poolFor(credentials, fcm, nextPools);
      const token = this.tokenFor(id, fcm, credentials, nextTokens, users.get(credentials.tokenKey) ?? []);
      const old = this.apps.get(id);
      // Unchanged: kept whole, with its limiter and its credential gate's state.
      const kept = old && old.pool === entry.pool && old.accessToken === token.accessToken && isDeepStrictEqual(old.config, fcm) ? old : undefined;
      if (!kept) made.push(id);
      nextApps.set(id, kept ?? this.addApp(id, fcm, credentials, entry, token.accessToken));
    }
    const before = { apps: this.apps, pools: this.pools };
    this.apps = nextApps;
    this.pools = nextPools;
    this.tokens = nextTokens;
    for (const [key, entry] of before.pools) {
      if (nextPools.get(key) !== entry) this.retirePool(entry, [...before.apps.values()].filter((app) => app.pool === entry.pool));
    }
    for (const [id, old] of before.apps) if (nextApps.get(id) !== old) this.retireApp(old);
    return made;
  }

  /** The pool of a project and endpoint: the running one while built from the same settings, else a new one (sized by the first app that opens it). */
  private poolFor(credentials: FcmCredentials, fcm: AppFcmConfig, next: Map<string, PoolEntry>): PoolEntry {
    const { poolKey, endpoint } = credentials;
    const already = next.get(poolKey);
    if (already) return already;
    const session = {
      host: endpoint.host,
      port: endpoint.port,
      tls: endpoint.ca === undefined ? {} : { ca: endpoint.ca },
      connectTimeoutMs: fcm.requestTimeoutMs,
      pingIntervalMs: fcm.pingIntervalMs,
      pingTimeoutMs: Math.min(fcm.pingIntervalMs, fcm.requestTimeoutMs),
    };
    const settings = JSON.stringify({ size: fcm.connections, ...session, tls: caDigest(endpoint.ca) });
    const current = this.pools.get(poolKey);
    // Building a pool opens nothing (sessions open on the first push), so one not kept is just dropped.
    const entry = current?.settings === settings ? current : this.createPool(poolKey, fcm.connections, session, settings);
    next.set(poolKey, entry);
    return entry;
  }

  private createPool(key: string, size: number, session: SessionPoolOptions['session'], settings: string): PoolEntry {
    const limiters = new Set<ConcurrencyLimiter>();
    const pool = new SessionPool({
      key,
      size,
      session,
      clientCertificate: false,
      connectBackoff: this.options.retry?.backoff ?? defaultRetryTuning.backoff,
      log: this.options.log,
      now: this.now,
      onCapacity: () => limiters.forEach((limiter) => limiter.changed()),
      onSessionCount: () => {},
      onReplaced: () => {},
    });
    return { pool, settings, limiters };
  }

  /**
   * The access token of a service account: the running one (and its cached token) while
   * it fetches the same way and the app its fetches are counted under still uses it.
   */
  private tokenFor(id: string, fcm: AppFcmConfig, credentials: FcmCredentials, next: Map<string, TokenEntry>, users: readonly string[]): TokenEntry {
    const already = next.get(credentials.tokenKey);
    if (already) return already;
    const settings = JSON.stringify({ timeoutMs: fcm.requestTimeoutMs, ca: caDigest(credentials.endpoint.ca) });
    const current = this.tokens.get(credentials.tokenKey);
    const entry = current && current.settings === settings && users.includes(current.owner) ? current : { accessToken: this.createToken(id, fcm, credentials), settings, owner: id };
    next.set(credentials.tokenKey, entry);
    return entry;
  }

  private createToken(owner: string, fcm: AppFcmConfig, credentials: FcmCredentials): AccessToken {
    const { clientEmail, privateKeyId, key, tokenUri, endpoint } = credentials;
    return new AccessToken({
      clientEmail,
      key,
      tokenUri,
      timeoutMs: fcm.requestTimeoutMs,
      now: this.now,
      ...(privateKeyId === undefined ? {} : { privateKeyId }),
      ...(endpoint.ca === undefined ? {} : { ca: endpoint.ca }),
      ...(this.options.tokenFetch === undefined ? {} : { fetch: this.options.tokenFetch }),
      onFetch: (status) => this.options.metrics.fcmTokenRequests.inc({ app: owner, status }),
    });
  }

  private addApp(id: string, fcm: AppFcmConfig, credentials: FcmCredentials, entry: PoolEntry, accessToken: AccessToken): FcmApp {
    const { log, metrics } = this.options;
    const cooldownMs = this.options.credentialsCooldownMs ?? DEFAULT_FCM_CREDENTIALS_COOLDOWN_MS;
    const limiter = new ConcurrencyLimiter(() => Math.min(fcm.maxConcurrentStreams, entry.pool.capacity()));
    entry.limiters.add(limiter);
    const pushMetrics = appPushMetrics(metrics, 'fcm', id);
    pushMetrics.credentialsOk(true);
    log.info({ app: id, project: credentials.projectId, clientEmail: credentials.clientEmail, endpoint: `${credentials.endpoint.host}:${credentials.endpoint.port}` }, 'fcm credentials loaded');
    const app: FcmApp = {
      id,
      config: fcm,
      credentials,
      pool: entry.pool,
      limiter,
      gate: new CredentialGate(cooldownMs, this.now, (open, state) => this.gateChanged(app, open, state)),
      accessToken,
      retry: retryPolicy(fcm.maxAttempts, this.options.retry),
      cooldownMs,
      path: `/v1/projects/${encodeURIComponent(credentials.projectId)}/messages:send`,
      pushMetrics,
    };
    return app;
  }

  private gateChanged(app: FcmApp, open: boolean, state: GateState): void {
    // A batch still finishing on an app a reload replaced or removed no longer speaks for the app.
    if (this.apps.get(app.id) !== app) return;
    app.pushMetrics.credentialsOk(open);
    if (open) this.options.log.info({ app: app.id }, 'fcm credentials accepted again');
    else this.options.log.error({ app: app.id, reason: state.kind === 'open' ? undefined : state.reason, cooldownMs: app.cooldownMs }, 'fcm credentials refused: sending stopped for this app');
  }

  /** Replaced by a reload: its sessions close (GOAWAY) once no batch sends on it, bounded by its apps' longest request timeout. */
  private retirePool(entry: PoolEntry, apps: readonly FcmApp[]): void {
    this.options.log.info({ apps: apps.map((app) => app.id), running: this.draining.using(entry.pool) }, 'fcm pool replaced by reload: draining');
    const withinMs = Math.max(1_000, ...apps.map((app) => app.config.requestTimeoutMs));
    this.draining.retire(entry.pool, (deadline) => entry.pool.close(deadline), withinMs);
  }

  /** Replaced or removed by a reload: once its batches end its limiter leaves the pool and, removed, its gauges go. */
  private retireApp(old: FcmApp): void {
    this.draining.retire(
      old,
      () => {
        this.pools.get(old.credentials.poolKey)?.limiters.delete(old.limiter);
        // Unless a later reload added it back meanwhile.
        if (!this.apps.has(old.id)) old.pushMetrics.removeGauges();
      },
      0,
    );
  }

  private reporter(app: FcmApp, notificationId: string): FcmReporter {
    const { events } = this.options;
    const { request, retry, inFlight, invalidToken } = app.pushMetrics;
    return {
      request,
      retry,
      inFlight,
      invalidToken: (token, reason) => {
        invalidToken(reason);
        events.emit('fcm.token_invalid', { app: app.id, notificationId, token, reason });
      },
    };
  }
}

/** A CA file's digest, so settings compare the certificate's bytes, not its path. */
function caDigest(ca: Buffer | undefined): string | undefined {
  return ca === undefined ? undefined : createHash('sha256').update(ca).digest('hex');
}
