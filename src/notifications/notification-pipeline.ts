import type { AppStore } from '../apps/app-store.js';
import type { HeraldConfig } from '../config/load.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Service } from '../lib/service.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Notification } from './contract/notification-schema.js';
import type { Provider } from '../providers/provider.js';
import type { QueueDriver, QueueFactory } from '../queue/queue-driver.js';
import type { ChunkJob } from './pipeline/chunk-job.js';
import { ChunkSender } from './pipeline/chunk-sender.js';
import { Dispatcher } from './pipeline/dispatcher.js';
import type { EventBus } from '../events.js';
import { NotificationFinisher } from './pipeline/finisher.js';
import { chunkQueueSettings, notifyQueueSettings } from './pipeline/queues.js';
import { NotificationService } from './intake.js';
import type { StatusStore } from './status/status-store.js';
import type { RealtimeCheck, RealtimePublisher } from './ports.js';
import { NotificationWorker } from './pipeline/worker.js';

export interface NotificationPipelineOptions {
  queue: HeraldConfig['queue'];
  apps: AppStore;
  events: EventBus;
  metrics: Metrics;
  log: Logger;
  publisher: RealtimePublisher;
  checkRealtime: RealtimeCheck;
  /** Undefined when no app has an `apns` block. */
  provider: Provider | undefined;
  store: StatusStore;
  createQueue: QueueFactory;
}

/** Tokens that a provider hands back without a retry-after wait this long before the next round. */
const tokenBackoff = { baseMs: 1_000, maxMs: 60_000 };

/**
 * The notification pipeline, assembled: two queues, the status store, the worker that
 * consumes them, and the intake behind the HTTP routes (main.ts mounts them). main.ts picks the queue kind
 * and the store; everything here is the same in both modes.
 */
export class NotificationPipeline {
  readonly service: NotificationService;
  readonly worker: NotificationWorker;
  /** In start order: the store, then the worker (which starts both queues). */
  readonly services: readonly Service[];

  constructor(o: NotificationPipelineOptions) {
    const log = o.log;
    const finisher = new NotificationFinisher({ store: o.store, events: o.events, metrics: o.metrics, log });
    // queue.maxAttempts caps both: runs of a job whose handler keeps failing, and
    // sending rounds of a token the provider keeps asking to retry.
    const maxJobAttempts = o.queue.maxAttempts;
    const maxTokenRounds = o.queue.maxAttempts;
    const context = { apps: o.apps, finisher, metrics: o.metrics, log, maxJobAttempts };
    const notifications: QueueDriver<Notification> = o.createQueue(notifyQueueSettings(context));
    const chunks: QueueDriver<ChunkJob> = o.createQueue(chunkQueueSettings(context));
    const sender = new ChunkSender({
      apps: o.apps,
      store: o.store,
      provider: o.provider,
      finisher,
      metrics: o.metrics,
      log,
      maxTokenRounds,
      backoff: (retries) => backoffDelay(retries, tokenBackoff),
    });
    const dispatcher = new Dispatcher({ ...o, chunks, finisher, chunkSize: o.queue.chunkSize, sendInline: sender.handle });
    this.worker = new NotificationWorker({
      notifications,
      chunks,
      dispatch: dispatcher.handle,
      sendChunk: sender.handle,
      concurrency: o.queue.concurrency,
      metrics: o.metrics,
      log,
    });
    this.service = new NotificationService({ queue: notifications, store: o.store, events: o.events, metrics: o.metrics, chunkSize: o.queue.chunkSize, checkRealtime: o.checkRealtime });
    this.services = [o.store, this.worker];
  }
}
