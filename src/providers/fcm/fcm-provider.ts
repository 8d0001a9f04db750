import type { AppConfig } from '../../config/load.js';
import { HeraldError } from '../../errors.js';
import type { Service } from '../../lib/service.js';
import type { Provider, ProviderHealth, PushBatch, PushResult } from '../provider.js';
import { CredentialGate } from '../shared/credential-gate.js';
import { ConcurrencyLimiter } from '../shared/limiter.js';
import { defaultRetryTuning } from '../shared/retry-policy.js';
import { everyToken, retryPolicy, stopAtDeadline, stopController, unhealthyApps } from '../shared/provider-shell.js';
import type { ProviderOptions } from '../shared/provider-shell.js';
import { SessionPool } from '../shared/session-pool.js';
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

/**
 * Delivers notifications through FCM HTTP v1 for every app with an `fcm` block: one
 * HTTP/2 connection pool per project and endpoint, one access token per service
 * account, a bounded number of requests in flight per app.
 */
export class FcmProvider implements Provider, Service {
  readonly name = 'fcm';
  readonly kind = 'fcm' as const;
  private readonly apps = new Map<string, FcmApp>();
  private readonly pools = new Map<string, SessionPool>();
  private readonly tokens = new Map<string, AccessToken>();
  /** The limiters of the apps on each pool: a session opening or closing changes their capacity. */
  private readonly poolLimiters = new Map<SessionPool, ConcurrencyLimiter[]>();
  private readonly stopping = stopController();
  private readonly now: () => number;
  private started = false;

  constructor(private readonly options: FcmProviderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Opens every app's credentials; throws HERALD_CREDENTIALS_INVALID listing every bad one. Fetches no token yet. */
  async start(): Promise<void> {
    const problems: string[] = [];
    const loaded: Array<{ app: AppConfig; credentials: FcmCredentials }> = [];
    for (const app of this.options.apps) {
      if (!app.fcm) continue;
      try {
        loaded.push({ app, credentials: loadFcmCredentials(app.id, app.fcm) });
      } catch (err) {
        if (!(err instanceof HeraldError)) throw err;
        problems.push(err.message);
      }
    }
    if (problems.length > 0) throw new HeraldError('HERALD_CREDENTIALS_INVALID', `FCM credentials cannot be used:\n  - ${problems.join('\n  - ')}`);
    for (const { app, credentials } of loaded) this.apps.set(app.id, this.addApp(app, credentials));
    this.started = true;
  }

  async stop(deadline: AbortSignal): Promise<void> {
    await this.close(deadline);
  }

  async close(deadline: AbortSignal): Promise<void> {
    const abort = stopAtDeadline(this.stopping, deadline);
    await Promise.all([...this.pools.values()].map((pool) => pool.close(deadline)));
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

  /** checkCredentials() for every app (main.ts runs it after start, without waiting): the first pushes also find a token ready. */
  async probeCredentials(): Promise<void> {
    await Promise.all([...this.apps.keys()].map((app) => this.checkCredentials(app)));
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
    return new BatchRun(batch.tokens, sender, signal, this.stopping.signal, this.now).results();
  }

  private addApp(config: AppConfig, credentials: FcmCredentials): FcmApp {
    const fcm = config.fcm;
    if (!fcm) throw new HeraldError('HERALD_INTERNAL', `app ${config.id} has no fcm block`);
    const { log, metrics } = this.options;
    const pool = this.poolFor(credentials, fcm.connections, fcm.requestTimeoutMs, fcm.pingIntervalMs);
    let accessToken = this.tokens.get(credentials.tokenKey);
    if (!accessToken) {
      const { clientEmail, privateKeyId, key, tokenUri, endpoint } = credentials;
      accessToken = new AccessToken({
        clientEmail,
        key,
        tokenUri,
        timeoutMs: fcm.requestTimeoutMs,
        now: this.now,
        ...(privateKeyId === undefined ? {} : { privateKeyId }),
        ...(endpoint.ca === undefined ? {} : { ca: endpoint.ca }),
        ...(this.options.tokenFetch === undefined ? {} : { fetch: this.options.tokenFetch }),
        onFetch: (status) => metrics.fcmTokenRequests.inc({ app: config.id, status }),
      });
      this.tokens.set(credentials.tokenKey, accessToken);
    }
    const cooldownMs = this.options.credentialsCooldownMs ?? DEFAULT_FCM_CREDENTIALS_COOLDOWN_MS;
    const limiter = new ConcurrencyLimiter(() => Math.min(fcm.maxConcurrentStreams, pool.capacity()));
    this.limiters(pool).push(limiter);
    const pushMetrics = appPushMetrics(metrics, 'fcm', config.id);
    pushMetrics.credentialsOk(true);
    log.info({ app: config.id, project: credentials.projectId, clientEmail: credentials.clientEmail, endpoint: `${credentials.endpoint.host}:${credentials.endpoint.port}` }, 'fcm credentials loaded');
    return {
      id: config.id,
      config: fcm,
      credentials,
      pool,
      limiter,
      gate: new CredentialGate(cooldownMs, this.now, (open, state) => {
        pushMetrics.credentialsOk(open);
        if (open) log.info({ app: config.id }, 'fcm credentials accepted again');
        else log.error({ app: config.id, reason: state.kind === 'open' ? undefined : state.reason, cooldownMs }, 'fcm credentials refused: sending stopped for this app');
      }),
      accessToken,
      retry: retryPolicy(fcm.maxAttempts, this.options.retry),
      cooldownMs,
      path: `/v1/projects/${encodeURIComponent(credentials.projectId)}/messages:send`,
      pushMetrics,
    };
  }

  private limiters(pool: SessionPool): ConcurrencyLimiter[] {
    let list = this.poolLimiters.get(pool);
    if (!list) this.poolLimiters.set(pool, (list = []));
    return list;
  }

  /** One pool per project and endpoint, sized by the first app that opens it. */
  private poolFor(credentials: FcmCredentials, size: number, requestTimeoutMs: number, pingIntervalMs: number): SessionPool {
    const existing = this.pools.get(credentials.poolKey);
    if (existing) return existing;
    const { endpoint } = credentials;
    const pool: SessionPool = new SessionPool({
      key: credentials.poolKey,
      size,
      session: {
        host: endpoint.host,
        port: endpoint.port,
        tls: endpoint.ca === undefined ? {} : { ca: endpoint.ca },
        connectTimeoutMs: requestTimeoutMs,
        pingIntervalMs,
        pingTimeoutMs: Math.min(pingIntervalMs, requestTimeoutMs),
      },
      clientCertificate: false,
      connectBackoff: this.options.retry?.backoff ?? defaultRetryTuning.backoff,
      log: this.options.log,
      now: this.now,
      onCapacity: () => this.limiters(pool).forEach((limiter) => limiter.changed()),
      onSessionCount: () => {},
      onReplaced: () => {},
    });
    this.pools.set(credentials.poolKey, pool);
    return pool;
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
