import { createHash } from 'node:crypto';
import type { AppConfig } from '../../src/config/load.js';
import type { ApnsConfig } from '../../src/config/schema.js';
import { EventBus } from '../../src/events.js';
import type { HeraldEvents } from '../../src/events.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import type { PushBatch, PushResult } from '../../src/providers/provider.js';
import { ApnsProvider } from '../../src/providers/apns/apns-provider.js';
import type { ApnsProviderOptions } from '../../src/providers/apns/apns-provider.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import type { ApnsMockOptions } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';

/** How the app authenticates: PEM cert + key, PEM with an encrypted key, PKCS#12, or a .p8 token key. */
export type AuthMode = 'pem' | 'encrypted-pem' | 'pkcs12' | 'token';
export const authModes: readonly AuthMode[] = ['pem', 'encrypted-pem', 'pkcs12', 'token'];

export function credentialBlock(creds: TestCredentials, mode: AuthMode): Partial<ApnsConfig> {
  switch (mode) {
    case 'pem':
      return { cert: creds.clientCertPath, key: creds.clientKeyPath };
    case 'encrypted-pem':
      return { cert: creds.clientCertPath, key: creds.encryptedClientKeyPath, passphrase: creds.passphrase };
    case 'pkcs12':
      return { pfx: creds.pfxPath, passphrase: creds.passphrase };
    case 'token':
      return { token: { key: creds.p8Path, keyId: creds.keyId, teamId: creds.teamId } };
  }
}

/** A clock the provider reads; tests shift it to age JWTs or pass cool-downs without waiting. */
export class TestClock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
}

export interface HarnessOptions {
  mode?: AuthMode;
  mock?: Partial<Omit<ApnsMockOptions, 'credentials' | 'auth'>>;
  /** Overrides of the app's apns block (after the credential block). */
  apns?: Partial<ApnsConfig>;
  /** The CA the app trusts for the mock's server certificate (default: the test CA that signed it). */
  endpointCa?: string;
  provider?: Partial<Omit<ApnsProviderOptions, 'apps' | 'log' | 'metrics' | 'events' | 'now'>>;
}

export interface Harness {
  creds: TestCredentials;
  mock: ApnsMock;
  provider: ApnsProvider;
  metrics: Metrics;
  events: EventBus;
  clock: TestClock;
  invalidTokens: Array<HeraldEvents['apns.token_invalid']>;
  app: AppConfig;
  send(batch: Partial<PushBatch> & { tokens: readonly string[] }, signal?: AbortSignal): Promise<PushResult[]>;
  metric(name: keyof Metrics, labels: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export const APP_ID = 'shop';

/**
 * Test defaults. The mock shares the test's event loop, so on a loaded machine an answer
 * can sit unread for a while; a short request timeout would then resend requests the
 * mock already accepted (the documented at-least-once case for lost requests). Tests of
 * stall detection set their own short timers.
 */
export const fastApns: Partial<ApnsConfig> = { requestTimeoutMs: 10_000, pingIntervalMs: 2_000, maxAttempts: 3, connections: 1, maxConcurrentStreams: 500 };

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const creds = await testCredentials();
  const mode = options.mode ?? 'pem';
  const mock = await ApnsMock.start({ credentials: creds, auth: mode === 'token' ? 'token' : 'certificate', ...options.mock });
  const app = appConfig(creds, mode, mock.port, { endpoint: { host: '127.0.0.1', port: mock.port, ca: options.endpointCa ?? creds.caCertPath }, ...options.apns });
  const metrics = createMetrics({ defaults: false });
  const events = new EventBus();
  const invalidTokens: Array<HeraldEvents['apns.token_invalid']> = [];
  events.on('apns.token_invalid', (event) => invalidTokens.push(event));
  const clock = new TestClock();
  const provider = new ApnsProvider({
    apps: [app],
    log: silentLogger(),
    metrics,
    events,
    now: clock.now,
    retry: { backoff: { baseMs: 100, maxMs: 1_000 }, maxInlineWaitMs: 5_000 },
    ...options.provider,
  });
  try {
    await provider.start();
  } catch (err) {
    await mock.close();
    throw err;
  }
  return {
    creds,
    mock,
    provider,
    metrics,
    events,
    clock,
    invalidTokens,
    app,
    async send(batch, signal = new AbortController().signal) {
      const results: PushResult[] = [];
      for await (const result of provider.send({ app: APP_ID, notificationId: 'n-1', payload: { aps: { alert: 'hello' } }, ...batch }, signal)) results.push(result);
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

export function appConfig(creds: TestCredentials, mode: AuthMode, port: number, apns: Partial<ApnsConfig> = {}): AppConfig {
  const block = {
    production: false,
    topic: creds.bundleId,
    endpoint: { host: '127.0.0.1', port, ca: creds.caCertPath },
    ...fastApns,
    ...credentialBlock(creds, mode),
    ...apns,
  } as AppConfig['apns'];
  return { id: APP_ID, key: 'shop-key', secret: 'shop-secret-123', enabled: true, enableClientMessages: false, enableSubscriptionCount: false, limits: {} as AppConfig['limits'], webhooks: [], allowedOrigins: [], ...(block ? { apns: block } : {}) };
}

/** Distinct, valid, reproducible device tokens (64 hex digits). */
export function deviceTokens(count: number, seed = 'device'): string[] {
  return Array.from({ length: count }, (_, i) => createHash('sha256').update(`${seed}-${i}`).digest('hex'));
}

/** How many results of each outcome type (and reason, when given). */
export function tally(results: readonly PushResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { outcome } of results) {
    const key = outcome.type === 'delivered' ? 'delivered' : `${outcome.type}:${outcome.reason}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
