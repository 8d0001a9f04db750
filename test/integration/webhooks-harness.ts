import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticAppStore } from '../../src/apps/app-store.js';
import { loadConfig } from '../../src/config/load.js';
import type { HeraldConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/events.js';
import type { DeadLetterStore } from '../../src/webhooks/dead-letter-store.js';
import type { WebhookJob } from '../../src/webhooks/webhook-job.js';
import { webhookQueueSettings } from '../../src/webhooks/webhook-queue.js';
import { WebhookService } from '../../src/webhooks/webhook-service.js';
import { deadlineAfter } from '../../src/lib/deadline.js';
import { silentLogger } from '../../src/log/logger.js';
import type { Logger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import type { QueueDriver, QueueDriverSettings } from '../../src/queue/queue-driver.js';

/** What differs between the embedded and the Redis set-up: the queue and the dead-letter list. */
export interface WebhookBackend {
  readonly name: string;
  queue(settings: QueueDriverSettings<WebhookJob>, prefix: string): QueueDriver<WebhookJob>;
  deadLetters(prefix: string): DeadLetterStore;
}

export interface HookSpec {
  url: string;
  events: string[];
  headers?: Record<string, string>;
}

export const APP = { id: 'hooks-app', key: 'hooks-key', secret: 'hooks-secret-0123' };

/** Loads a real configuration file, the way the daemon does, with the given webhooks and settings. */
export function webhookConfig(hooks: HookSpec[], settings: Partial<HeraldConfig['webhooks']> = {}): HeraldConfig {
  const dir = mkdtempSync(join(tmpdir(), 'herald-webhooks-'));
  const file = join(dir, 'herald.json');
  writeFileSync(file, JSON.stringify({ apps: [{ ...APP, webhooks: hooks }], webhooks: { batchMs: 20, ...settings } }));
  return loadConfig({ file, env: {} });
}

export interface RunningWebhooks {
  readonly events: EventBus;
  readonly service: WebhookService;
  readonly queue: QueueDriver<WebhookJob>;
  readonly deadLetters: DeadLetterStore;
  readonly metrics: Metrics;
  stop(): Promise<void>;
}

let counter = 0;

/** Starts the queue and the webhook service exactly as main.ts orders them (queue first, stopped last). */
export async function startWebhooks(backend: WebhookBackend, config: HeraldConfig, log: Logger = silentLogger()): Promise<RunningWebhooks> {
  counter += 1;
  const prefix = `hooks-test-${process.pid}-${counter}`;
  const events = new EventBus((event, err) => {
    throw new Error(`subscriber of ${event} failed: ${String(err)}`);
  });
  const metrics = createMetrics({ defaults: false });
  const queue = backend.queue(webhookQueueSettings(config.webhooks, log), prefix);
  const deadLetters = backend.deadLetters(prefix);
  const service = new WebhookService({
    apps: new StaticAppStore(config.apps),
    events,
    queue,
    deadLetters,
    settings: config.webhooks,
    log,
    metrics,
  });
  await deadLetters.start();
  await queue.start();
  await service.start();
  return {
    events,
    service,
    queue,
    deadLetters,
    metrics,
    async stop() {
      await service.stop(deadlineAfter(5_000));
      await queue.stop(deadlineAfter(5_000));
      await deadLetters.stop(deadlineAfter(5_000));
    },
  };
}

export async function counterValue(metrics: Metrics, labels: { app: string; status: string }): Promise<number> {
  const data = await metrics.webhookDeliveries.get();
  return data.values.find((v) => v.labels.app === labels.app && v.labels.status === labels.status)?.value ?? 0;
}

export async function deadLetterGauge(metrics: Metrics): Promise<number> {
  return (await metrics.webhookDeadLetters.get()).values[0]?.value ?? 0;
}
