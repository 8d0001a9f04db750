import type { AppApnsConfig } from '../../config/load.js';
import type { CredentialGate } from '../shared/credential-gate.js';
import type { ApnsCredentials } from './credentials.js';
import type { ConcurrencyLimiter } from '../shared/limiter.js';
import type { ProviderToken } from './provider-token.js';
import type { RetryPolicy } from '../shared/retry-policy.js';
import type { SessionPool } from '../shared/session-pool.js';
import type { AppPushMetrics } from '../shared/push-metrics.js';

/** Everything the provider keeps per app: its credentials, the pool it shares, its bound and its gate. */
export interface ApnsApp {
  readonly id: string;
  readonly config: AppApnsConfig;
  readonly credentials: ApnsCredentials;
  readonly pool: SessionPool;
  /** In-flight bound: min(config maxConcurrentStreams, what the pool's servers allow). */
  readonly limiter: ConcurrencyLimiter;
  readonly gate: CredentialGate;
  /** Token authentication only: the JWT shared by every app and connection on this key. */
  readonly token: ProviderToken | undefined;
  readonly retry: RetryPolicy;
  readonly cooldownMs: number;
  readonly pushMetrics: AppPushMetrics;
}
