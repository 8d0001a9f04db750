import type { AppConfig, AppFcmConfig } from '../../src/config/load.js';
import { parseServiceAccount } from '../../src/config/service-account.js';
import { EventBus } from '../../src/events.js';
import type { HeraldEvents } from '../../src/events.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import type { PushBatch, PushResult } from '../../src/providers/provider.js';
import { FcmProvider } from '../../src/providers/fcm/fcm-provider.js';
import type { FcmProviderOptions } from '../../src/providers/fcm/fcm-provider.js';
import { FcmMock } from '../fixtures/fcm/fcm-mock.js';
import type { FcmMockOptions } from '../fixtures/fcm/fcm-mock.js';
import { makeServiceAccount } from '../fixtures/fcm/service-account-fixture.js';
import type { TestServiceAccount } from '../fixtures/fcm/service-account-fixture.js';
import { testCredentials } from '../helpers/certs.js';

export const APP_ID = 'android-shop';

/** A clock the provider reads; tests shift it to age access tokens without waiting. */
export class TestClock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
}

export interface FcmHarness {
  mock: FcmMock;
  provider: FcmProvider;
  account: TestServiceAccount;
  /** The app's config and its fcm block as the provider started with them. */
  app: AppConfig;
  fcm: AppFcmConfig;
  metrics: Metrics;
  clock: TestClock;
  invalidTokens: Array<HeraldEvents['fcm.token_invalid']>;
  send(batch?: Partial<PushBatch> & { tokens: readonly string[] }, signal?: AbortSignal): Promise<PushResult[]>;
  metric(name: keyof Metrics, labels: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export interface FcmHarnessOptions {
  mock?: Partial<Omit<FcmMockOptions, 'credentials'>>;
  fcm?: Partial<AppFcmConfig>;
  provider?: Partial<Omit<FcmProviderOptions, 'apps' | 'log' | 'metrics' | 'events' | 'now'>>;
}

export async function startFcmHarness(options: FcmHarnessOptions = {}): Promise<FcmHarness> {
  const credentials = await testCredentials();
  const mock = await FcmMock.start({ credentials, ...options.mock });
  const account = makeServiceAccount(mock.tokenUri);
  mock.addAccount({ clientEmail: account.clientEmail, projectId: account.projectId, publicKey: account.publicKey });
  const fcm: AppFcmConfig = {
    serviceAccount: serviceAccountOf(account),
    endpoint: { host: '127.0.0.1', port: mock.port, ca: credentials.caCertPath },
    maxConcurrentStreams: 100,
    connections: 1,
    maxAttempts: 3,
    requestTimeoutMs: 10_000,
    pingIntervalMs: 5_000,
    ...options.fcm,
  };
  const app = fcmAppConfig(APP_ID, fcm);
  const metrics = createMetrics({ defaults: false });
  const events = new EventBus();
  const invalidTokens: Array<HeraldEvents['fcm.token_invalid']> = [];
  events.on('fcm.token_invalid', (event) => invalidTokens.push(event));
  const clock = new TestClock();
  const provider = new FcmProvider({ apps: [app], log: silentLogger(), metrics, events, now: clock.now, retry: { backoff: { baseMs: 50, maxMs: 500 }, maxInlineWaitMs: 5_000 }, ...options.provider });
  await provider.start();
  return {
    mock,
    provider,
    account,
    app,
    fcm,
    metrics,
    clock,
    invalidTokens,
    async send(batch = { tokens: [] }, signal = new AbortController().signal) {
      const results: PushResult[] = [];
      for await (const result of provider.send({ app: APP_ID, notificationId: 'n-1', payload: {}, fcm: { notification: { title: 'Shipped', body: 'On its way' }, data: { orderId: '42' } }, ...batch }, signal)) results.push(result);
      return results;
    },
    async metric(name, labels) {
      const metric = metrics[name] as unknown as { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> };
      const { values } = await metric.get();
      return values.filter((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l)).reduce((sum, v) => sum + v.value, 0);
    },
    async close() {
      await provider.close(AbortSignal.timeout(2_000));
      await mock.close();
    },
  };
}

/** An app with this fcm block, as the config loader makes it. */
export function fcmAppConfig(id: string, fcm: AppFcmConfig): AppConfig {
  return { id, key: `${id}-key`, secret: `${id}-secret-1`, enabled: true, enableClientMessages: false, enableSubscriptionCount: false, limits: {} as AppConfig['limits'], webhooks: [], allowedOrigins: [], fcm } as AppConfig;
}

/** The service account of a key file, as the config loader checks and keeps it. */
export function serviceAccountOf(account: TestServiceAccount): AppFcmConfig['serviceAccount'] {
  const parsed = parseServiceAccount(account.json);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.account;
}

/** Registration tokens shaped like FCM's: an instance id, a colon and an APA91b blob. */
export function registrationTokens(count: number, seed = 'device'): string[] {
  return Array.from({ length: count }, (_, i) => `${seed}${i}:APA91b${Buffer.from(`${seed}-${i}-registration`).toString('base64url')}`);
}

export function tally(results: readonly PushResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { outcome } of results) {
    const key = outcome.type === 'delivered' ? 'delivered' : `${outcome.type}:${outcome.reason}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
