import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { AppConfig } from '../../config/load.js';
import type { WebPushConfig } from '../../config/webpush-schema.js';
import { HeraldError } from '../../errors.js';
import type { VapidKeyPair } from '../../lib/p256-keys.js';
import type { Service } from '../../lib/service.js';
import type { Provider, ProviderHealth, PushBatch, PushResult } from '../provider.js';
import { ConcurrencyLimiter } from '../shared/limiter.js';
import { everyToken, openEveryApp, retryPolicy, stopController, unhealthyApps } from '../shared/provider-shell.js';
import type { PreparedReload, ProviderOptions } from '../shared/provider-shell.js';
import { Draining } from '../shared/draining.js';
import { BatchRun } from '../shared/batch-run.js';
import { appPushMetrics } from '../shared/push-metrics.js';
import { WebPushSender } from './webpush-sender.js';
import { prepareMessage } from './message.js';
import { PushTransport } from './push-transport.js';
import { loadVapidKeys } from './vapid-credentials.js';
import { VapidSigner } from './vapid.js';
import type { WebPushApp, WebPushReporter } from './webpush-app.js';

export interface WebPushProviderOptions extends ProviderOptions {
  /** A CA to trust besides the system's (tests, a relay with a private CA). */
  ca?: string;
}

/** VAPID refusals in a row (no delivery in between) after which health() reports the app. */
export const REFUSALS_BEFORE_UNHEALTHY = 20;

type LoadedApp = { id: string; webpush: WebPushConfig; keys: VapidKeyPair; credential: string };

/**
 * Delivers notifications to browsers through their push services (RFC 8030), with
 * VAPID (RFC 8292) and message encryption (RFC 8291), for every app with a `webpush`
 * block. A VAPID refusal (401/403) is reported for its token and does not stop the app:
 * push services also answer 403 for one subscription made with another key.
 */
export class WebPushProvider implements Provider, Service {
  readonly name = 'webpush';
  readonly kind = 'web' as const;
  private apps = new Map<string, WebPushApp>();
  private readonly requests = new Set<Promise<void>>();
  /** Connections and apps a reload replaced, until the batches running on them end. */
  private readonly draining: Draining;
  private readonly stopping = stopController();
  private readonly now: () => number;
  private started = false;

  constructor(private readonly options: WebPushProviderOptions) {
    this.now = options.now ?? Date.now;
    this.draining = new Draining((err) => options.log.warn({ err }, 'webpush connections replaced by reload did not close cleanly'));
  }

  /** Opens every app's VAPID keys; throws HERALD_CREDENTIALS_INVALID listing every bad one. Opens no connection. */
  start(): Promise<void> {
    this.swap(this.loadAll(this.options.apps));
    this.started = true;
    return Promise.resolve();
  }

  /**
   * Takes a reloaded configuration. Every app's VAPID keys are opened and checked first
   * (a key file that does not read, a pair that does not match): any problem throws, as
   * start() does, and nothing changes. Then apply() swaps: an unchanged app is kept
   * whole; a changed one keeps its signer (and the JWTs it holds) while its key and
   * subject are the same, and its connections while `allowPrivateEndpoints` and
   * `maxInFlight` are, the old ones closing once the batches running on them end. A
   * removed app is not served from then on, and its gauges go when its last batch ends.
   */
  prepareReload(apps: readonly AppConfig[]): PreparedReload {
    const loaded = this.loadAll(apps);
    return { apply: () => this.swap(loaded) };
  }

  /** prepareReload() and its apply() in one step. */
  reload(apps: readonly AppConfig[]): void {
    this.prepareReload(apps).apply();
  }

  stop(deadline: AbortSignal): Promise<void> {
    return this.close(deadline);
  }

  /** Stops taking tokens (they come back as `retry` ShuttingDown), waits for requests in flight until `deadline`, then closes every connection. */
  async close(deadline: AbortSignal): Promise<void> {
    this.stopping.abort(new HeraldError('HERALD_SHUTTING_DOWN'));
    if (!deadline.aborted && this.requests.size > 0) {
      await new Promise<void>((resolve) => {
        deadline.addEventListener('abort', () => resolve(), { once: true });
        void Promise.allSettled([...this.requests]).then(() => resolve());
      });
    }
    for (const app of this.apps.values()) app.transport.close();
    await this.draining.closeAll(deadline);
  }

  serves(app: string): boolean {
    return this.apps.has(app);
  }

  health(appId: string): ProviderHealth {
    const app = this.apps.get(appId);
    return app ? appHealth(app) : { ok: false, detail: 'no webpush block configured' };
  }

  /** The apps whose VAPID key push services keep refusing (see health()), for /ready's warnings (never a readiness failure). */
  refusedCredentials(): Array<{ app: string; detail: string }> {
    return unhealthyApps(this.apps.keys(), (app) => this.health(app), 'VAPID key refused');
  }

  send(batch: PushBatch, signal: AbortSignal): AsyncIterable<PushResult> {
    if (!this.started) throw new HeraldError('HERALD_INTERNAL', 'WebPushProvider.send() called before start()');
    const app = this.apps.get(batch.app);
    if (!app) return everyToken(batch, { type: 'rejected', reason: 'AppNotConfigured', invalidToken: false, detail: `app ${batch.app} has no webpush block` });
    const prepared = prepareMessage(batch, app.config.defaultTtlSeconds, this.now());
    if (!prepared.ok || !batch.web) {
      const problem = prepared.ok ? { reason: 'NoWebMessage', detail: 'the batch has no web part' } : prepared;
      this.options.log.debug({ app: app.id, notification: batch.notificationId, reason: problem.reason }, 'webpush notification refused before sending');
      return everyToken(batch, { type: 'rejected', reason: problem.reason, invalidToken: false, detail: problem.detail });
    }
    const track = (request: Promise<void>): void => {
      this.requests.add(request);
      void request.finally(() => this.requests.delete(request));
    };
    const sender = new WebPushSender(app, batch.web, prepared.message, this.reporter(app, batch.notificationId), this.now, track);
    return new BatchRun(batch.tokens, sender, signal, this.stopping.signal, this.now).results(this.draining.hold([app.transport, app]));
  }

  /** Every app's VAPID keys opened; throws HERALD_CREDENTIALS_INVALID listing every bad one. Changes nothing. */
  private loadAll(apps: readonly AppConfig[]): LoadedApp[] {
    return openEveryApp(
      apps,
      ({ id, webpush }) => {
        if (!webpush) return undefined;
        const keys = loadVapidKeys(id, webpush.vapid);
        if (!keys.ok) throw new HeraldError('HERALD_CREDENTIALS_INVALID', keys.problem);
        return { id, webpush, keys: keys.keys, credential: vapidCredential(webpush.vapid.subject, keys.keys) };
      },
      'Web Push VAPID keys',
    );
  }

  /** Serves exactly `loaded` from now on, keeping what did not change. */
  private swap(loaded: readonly LoadedApp[]): void {
    const next = new Map<string, WebPushApp>();
    for (const { id, webpush, keys, credential } of loaded) {
      const { vapid, ...settings } = webpush;
      const old = this.apps.get(id);
      if (old && old.credential === credential && isDeepStrictEqual(old.config, settings)) {
        next.set(id, old);
        continue;
      }
      const sameKey = old?.credential === credential ? old : undefined;
      const sameConnections = old && old.config.allowPrivateEndpoints === settings.allowPrivateEndpoints && old.config.maxInFlight === settings.maxInFlight ? old : undefined;
      const app: WebPushApp = {
        id,
        config: settings,
        credential,
        signer: sameKey?.signer ?? new VapidSigner(keys, vapid.subject, this.now),
        transport:
          sameConnections?.transport ?? new PushTransport({ allowPrivate: settings.allowPrivateEndpoints, maxSockets: settings.maxInFlight, ...(this.options.ca === undefined ? {} : { ca: this.options.ca }) }),
        limiter: new ConcurrencyLimiter(() => settings.maxInFlight),
        retry: retryPolicy(settings.maxAttempts, this.options.retry),
        pushMetrics: appPushMetrics(this.options.metrics, 'webpush', id),
        // The same key keeps its record with push services; a new one starts afresh.
        refusalsInARow: sameKey?.refusalsInARow ?? 0,
        lastRefusal: sameKey?.lastRefusal,
      };
      next.set(id, app);
      app.pushMetrics.credentialsOk(appHealth(app).ok);
      this.options.log.info({ app: id, subject: vapid.subject, allowPrivateEndpoints: settings.allowPrivateEndpoints, maxInFlight: settings.maxInFlight }, 'webpush vapid keys loaded');
    }
    const before = this.apps;
    this.apps = next;
    for (const [id, old] of before) {
      const replacement = next.get(id);
      if (replacement === old) continue;
      if (replacement?.transport !== old.transport) this.draining.retire(old.transport, () => old.transport.close(), 0);
      if (!replacement) this.draining.retire(old, () => this.dropGauges(old), 0);
    }
  }

  /** A removed app's gauges go once its last batch has ended, unless a later reload added it back meanwhile. */
  private dropGauges(app: WebPushApp): void {
    if (!this.apps.has(app.id)) app.pushMetrics.removeGauges();
  }

  private reporter(app: WebPushApp, notificationId: string): WebPushReporter {
    const { events } = this.options;
    const { request, retry, inFlight, invalidToken, credentialsOk } = app.pushMetrics;
    return {
      request,
      retry,
      invalidSubscription: (token, reason, endpoint) => {
        invalidToken(reason);
        events.emit('webpush.subscription_invalid', { app: app.id, notificationId, token, reason, ...(endpoint === undefined ? {} : { endpoint }) });
      },
      inFlight: (delta) => {
        inFlight(delta);
        // A request ends after its answer was judged: the gauge follows health() from here (while the app is the one configured).
        if (delta < 0 && this.apps.get(app.id) === app) credentialsOk(appHealth(app).ok);
      },
    };
  }
}

function appHealth(app: WebPushApp): ProviderHealth {
  if (app.refusalsInARow >= REFUSALS_BEFORE_UNHEALTHY) return { ok: false, detail: `VAPID refused ${app.refusalsInARow} times in a row (last: ${app.lastRefusal ?? 'unknown'})` };
  return { ok: true };
}

/** A digest of what the signer is made from: equal digests sign the same JWTs. */
function vapidCredential(subject: string, keys: VapidKeyPair): string {
  const secret = keys.privateKey.export({ format: 'der', type: 'pkcs8' });
  return createHash('sha256').update(subject).update('\0').update(keys.publicKey).update(secret).digest('hex');
}
