import { HeraldError } from '../../errors.js';
import type { Service } from '../../lib/service.js';
import type { Provider, ProviderHealth, PushBatch, PushResult } from '../provider.js';
import { ConcurrencyLimiter } from '../shared/limiter.js';
import { everyToken, retryPolicy, stopController, unhealthyApps } from '../shared/provider-shell.js';
import type { ProviderOptions } from '../shared/provider-shell.js';
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

/**
 * Delivers notifications to browsers through their push services (RFC 8030), with
 * VAPID (RFC 8292) and message encryption (RFC 8291), for every app with a `webpush`
 * block. A VAPID refusal (401/403) is reported for its token and does not stop the app:
 * push services also answer 403 for one subscription made with another key.
 */
export class WebPushProvider implements Provider, Service {
  readonly name = 'webpush';
  readonly kind = 'web' as const;
  private readonly apps = new Map<string, WebPushApp>();
  private readonly requests = new Set<Promise<void>>();
  private readonly stopping = stopController();
  private readonly now: () => number;
  private started = false;

  constructor(private readonly options: WebPushProviderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Opens every app's VAPID keys; throws HERALD_CREDENTIALS_INVALID listing every bad one. */
  start(): Promise<void> {
    const problems: string[] = [];
    const apps: WebPushApp[] = [];
    for (const config of this.options.apps) {
      if (!config.webpush) continue;
      const { vapid, ...settings } = config.webpush;
      const keys = loadVapidKeys(config.id, vapid);
      if (!keys.ok) {
        problems.push(keys.problem);
        continue;
      }
      apps.push({
        id: config.id,
        config: settings,
        signer: new VapidSigner(keys.keys, vapid.subject, this.now),
        transport: new PushTransport({ allowPrivate: settings.allowPrivateEndpoints, maxSockets: settings.maxInFlight, ...(this.options.ca === undefined ? {} : { ca: this.options.ca }) }),
        limiter: new ConcurrencyLimiter(() => settings.maxInFlight),
        retry: retryPolicy(settings.maxAttempts, this.options.retry),
        pushMetrics: appPushMetrics(this.options.metrics, 'webpush', config.id),
        refusalsInARow: 0,
        lastRefusal: undefined,
      });
    }
    if (problems.length > 0) {
      for (const app of apps) app.transport.close();
      throw new HeraldError('HERALD_CREDENTIALS_INVALID', `Web Push VAPID keys cannot be used:\n  - ${problems.join('\n  - ')}`);
    }
    for (const app of apps) {
      this.apps.set(app.id, app);
      app.pushMetrics.credentialsOk(true);
      this.options.log.info({ app: app.id, subject: this.subjectOf(app.id), allowPrivateEndpoints: app.config.allowPrivateEndpoints, maxInFlight: app.config.maxInFlight }, 'webpush vapid keys loaded');
    }
    this.started = true;
    return Promise.resolve();
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
  }

  serves(app: string): boolean {
    return this.apps.has(app);
  }

  health(appId: string): ProviderHealth {
    const app = this.apps.get(appId);
    if (!app) return { ok: false, detail: 'no webpush block configured' };
    if (app.refusalsInARow >= REFUSALS_BEFORE_UNHEALTHY) return { ok: false, detail: `VAPID refused ${app.refusalsInARow} times in a row (last: ${app.lastRefusal ?? 'unknown'})` };
    return { ok: true };
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
    return new BatchRun(batch.tokens, sender, signal, this.stopping.signal, this.now).results();
  }

  private subjectOf(appId: string): string | undefined {
    return this.options.apps.find((app) => app.id === appId)?.webpush?.vapid.subject;
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
        // A request ends after its answer was judged: the gauge follows health() from here.
        if (delta < 0) credentialsOk(this.health(app.id).ok);
      },
    };
  }
}
