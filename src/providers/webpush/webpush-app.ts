import type { ConcurrencyLimiter } from '../shared/limiter.js';
import type { RetryPolicy } from '../shared/retry-policy.js';
import type { AttemptReporter } from '../shared/verdict.js';
import type { AppPushMetrics } from '../shared/push-metrics.js';
import type { WebPushConfig } from '../../config/webpush-schema.js';
import type { PushTransport } from './push-transport.js';
import type { VapidSigner } from './vapid.js';

/** Everything the provider keeps per app: its VAPID signer, its connections and its in-flight bound. */
export interface WebPushApp {
  readonly id: string;
  readonly config: Omit<WebPushConfig, 'vapid'>;
  /** A digest of the VAPID subject and key pair: a reload keeps the signer while it is unchanged. */
  readonly credential: string;
  readonly signer: VapidSigner;
  readonly transport: PushTransport;
  /** At most `config.maxInFlight` requests at once, across every batch and push service of the app. */
  readonly limiter: ConcurrencyLimiter;
  readonly retry: RetryPolicy;
  readonly pushMetrics: AppPushMetrics;
  /** VAPID refusals in a row with no acceptance in between, for health(). */
  refusalsInARow: number;
  lastRefusal: string | undefined;
}

/** Metrics and events of one batch, bound to its app and notification. */
export interface WebPushReporter extends AttemptReporter {
  /** `endpoint`: the push service URL that answered, when the subscription got as far as one. */
  invalidSubscription(token: string, reason: string, endpoint?: string): void;
}
