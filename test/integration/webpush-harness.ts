import type { AppConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import type { WebPushConfig } from '../../src/config/webpush-schema.js';
import { EventBus } from '../../src/events.js';
import type { HeraldEvents } from '../../src/events.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import type { PushBatch, PushResult, WebPushFields, WebPushSubscription } from '../../src/providers/provider.js';
import { WebPushProvider } from '../../src/providers/webpush/webpush-provider.js';
import type { WebPushProviderOptions } from '../../src/providers/webpush/webpush-provider.js';
import { WebPushMock } from '../fixtures/webpush/webpush-mock.js';
import type { MockSubscription } from '../fixtures/webpush/webpush-mock.js';
import { generateVapidKeys } from '../fixtures/webpush/vapid-keys.js';
import { testCredentials } from '../helpers/certs.js';

export interface WebPushHarness {
  mock: WebPushMock;
  provider: WebPushProvider;
  metrics: Metrics;
  vapid: { publicKey: string; privateKey: string };
  invalid: Array<HeraldEvents['webpush.subscription_invalid']>;
  /** Sends to the given subscriptions, each under the token `t<index>` unless named. */
  send(subscriptions: ReadonlyArray<MockSubscription | WebPushSubscription>, web?: Partial<Omit<WebPushFields, 'subscriptions'>>, batch?: Partial<PushBatch>, signal?: AbortSignal): Promise<PushResult[]>;
  metric(name: keyof Metrics, labels: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export function appConfig(id: string, webpush: Partial<WebPushConfig> & { vapid: WebPushConfig['vapid'] }): AppConfig {
  const parsed = configSchema.parse({ apps: [{ id, key: `${id}-key`, secret: 'secret-long-enough', webpush }] });
  return parsed.apps?.[0] as AppConfig;
}

export async function startHarness(options: { webpush?: Partial<WebPushConfig>; provider?: Partial<Omit<WebPushProviderOptions, 'apps' | 'log' | 'metrics' | 'events'>> } = {}): Promise<WebPushHarness> {
  const creds = await testCredentials();
  const mock = await WebPushMock.start({ cert: creds.serverCert, key: creds.serverKey });
  const vapid = generateVapidKeys();
  const metrics = createMetrics();
  const events = new EventBus();
  const invalid: WebPushHarness['invalid'] = [];
  events.on('webpush.subscription_invalid', (e) => invalid.push(e));
  const app = appConfig('app1', { allowPrivateEndpoints: true, ...options.webpush, vapid: { subject: 'mailto:ops@example.com', ...vapid } });
  const provider = new WebPushProvider({ apps: [app], log: silentLogger(), metrics, events, ca: creds.caCert, retry: { backoff: { baseMs: 20, maxMs: 200 }, maxInlineWaitMs: 5_000 }, ...options.provider });
  await provider.start();
  let sent = 0;
  return {
    mock,
    provider,
    metrics,
    vapid,
    invalid,
    async send(subscriptions, web = {}, batch = {}, signal = new AbortController().signal) {
      const tokens = subscriptions.map((_, index) => `t${index}`);
      const map = new Map(subscriptions.map((sub, index) => [`t${index}`, 'json' in sub ? sub.json : sub]));
      const results: PushResult[] = [];
      for await (const result of provider.send({ app: 'app1', notificationId: `n${sent++}`, tokens, payload: {}, ...batch, web: { subscriptions: map, ...web } }, signal)) results.push(result);
      return results.sort((a, b) => a.index - b.index);
    },
    async metric(name, labels) {
      const metric = metrics[name] as unknown as { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number> }> }> };
      const data = await metric.get();
      return data.values.filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)).reduce((sum, v) => sum + v.value, 0);
    },
    async close() {
      await provider.close(AbortSignal.timeout(5_000));
      await mock.close();
    },
  };
}
