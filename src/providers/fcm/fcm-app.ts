import type { AppFcmConfig } from '../../config/load.js';
import type { CredentialGate } from '../shared/credential-gate.js';
import type { ConcurrencyLimiter } from '../shared/limiter.js';
import type { RetryPolicy } from '../shared/retry-policy.js';
import type { SessionPool } from '../shared/session-pool.js';
import type { AppPushMetrics } from '../shared/push-metrics.js';
import type { AccessToken } from './access-token.js';
import type { FcmCredentials } from './fcm-credentials.js';

/**
 * Everything the FCM provider keeps per app. The HTTP/2 transport (session pool,
 * in-flight limiter, credential gate, retry policy) is the one APNs uses: nothing in it
 * is Apple's.
 */
export interface FcmApp {
  readonly id: string;
  readonly config: AppFcmConfig;
  readonly credentials: FcmCredentials;
  /** Shared by the apps of one project on one endpoint. */
  readonly pool: SessionPool;
  readonly limiter: ConcurrencyLimiter;
  readonly gate: CredentialGate;
  /** Shared by the apps of one service account. */
  readonly accessToken: AccessToken;
  readonly retry: RetryPolicy;
  readonly cooldownMs: number;
  /** `/v1/projects/{project_id}/messages:send` */
  readonly path: string;
  readonly pushMetrics: AppPushMetrics;
}
