import type { AppStore } from '../apps/app-store.js';
import type { HeraldConfig } from '../config/load.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Service } from '../lib/service.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Notification } from './contract/notification-schema.js';
import type { Provider, ProviderKind } from '../providers/provider.js';
import type { QueueDriver, QueueFactory } from '../queue/queue-driver.js';
import type { ChunkJob } from './pipeline/chunk-job.js';
import { ChunkSender } from './pipeline/chunk-sender.js';
import { Dispatcher } from './pipeline/dispatcher.js';
import type { EventBus } from '../events.js';
import { NotificationFinisher } from './pipeline/finisher.js';
import { chunkQueueSettings, envelopeQueueSettings, failInvalidEntries, notifyQueueSettings } from './pipeline/queues.js';
import type { Envelope } from './contract/envelope.js';
import { partitionOf } from './contract/partitions.js';
import type { NotificationRef } from './contract/notification-schema.js';
import { EnvelopeRunner } from './pipeline/envelope-runner.js';
import { GroupCommit } from './group-commit.js';
import { NotificationService } from './intake.js';
import type { StatusStore } from './status/status-store.js';
import type { RealtimeCheck, RealtimePublisher, UserPresence } from './ports.js';
import { TargetResolver } from './pipeline/targets.js';
import type { DeviceDirectory } from './pipeline/targets.js';
import { NotificationWorker, consumer } from './pipeline/worker.js';

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
  /** FCM and Web Push by kind (ProviderSet); absent: only APNs chunks are sent. */
  providers?: { byKind(kind: ProviderKind): Provider | undefined };
  store: StatusStore;
  createQueue: QueueFactory;
  /** Resolve `to.users` and `to.interests`; without them a notification with `to` fails. */
  devices?: DeviceDirectory;
  presence?: UserPresence;
}

/** Tokens that a provider hands back without a retry-after wait this long before the next round. */
const tokenBackoff = { baseMs: 1_000, maxMs: 60_000 };

/**
 * The notification pipeline, assembled: its queues (`notifications`, and envelopes and
 * chunks per partition), the status store, the worker that
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
    const partitions = Array.from({ length: o.queue.partitions }, (_, partition) => partition);
    // `notify` jobs come from producers that add one job per notification (partition 0's prefix, as always).
    const notifications: QueueDriver<Notification> = o.createQueue(notifyQueueSettings(context));
    const envelopes: Array<QueueDriver<Envelope>> = partitions.map((partition) => o.createQueue(envelopeQueueSettings(context, partition)));
    const chunks: Array<QueueDriver<ChunkJob>> = partitions.map((partition) => o.createQueue(chunkQueueSettings(context, partition)));
    const sender = new ChunkSender({
      apps: o.apps,
      store: o.store,
      provider: o.provider,
      ...(o.providers ? { providers: o.providers } : {}),
      finisher,
      metrics: o.metrics,
      log,
      maxTokenRounds,
      backoff: (retries) => backoffDelay(retries, tokenBackoff),
    });
    const chunksOf = ofPartition(chunks);
    const targets = o.devices && o.presence ? new TargetResolver({ devices: o.devices, presence: o.presence, chunkSize: o.queue.chunkSize }) : undefined;
    const dispatcher = new Dispatcher(Object.assign({}, o, { chunksOf, finisher, chunkSize: o.queue.chunkSize, sendInline: sender.handle }, targets ? { targets } : {}));
    const envelopeRunner = new EnvelopeRunner({ dispatcher, finisher, failInvalid: (job, envelope) => failInvalidEntries(context, job, envelope), lanes: o.queue.envelopeLanes });
    this.worker = new NotificationWorker({
      consumers: [
        consumer(notifications, dispatcher.handle),
        ...envelopes.map((queue) => consumer(queue, envelopeRunner.handle)),
        ...chunks.map((queue) => consumer(queue, sender.handle)),
      ],
      concurrency: o.queue.concurrency,
      metrics: o.metrics,
      log,
    });
    const commit = new GroupCommit({ envelopes, store: o.store, windowMs: o.queue.groupCommitMs, now: Date.now });
    this.service = new NotificationService({ queue: notifications, commit, envelopeOf: ofPartition(envelopes), store: o.store, events: o.events, metrics: o.metrics, chunkSize: o.queue.chunkSize, checkRealtime: o.checkRealtime });
    this.services = [o.store, this.worker];
  }
}

/** The queue of a notification's partition, from a queue per partition. */
function ofPartition<T>(queues: ReadonlyArray<QueueDriver<T>>): (ref: NotificationRef) => QueueDriver<T> {
  return (ref) => queues[partitionOf(ref, queues.length)] as QueueDriver<T>;
}
