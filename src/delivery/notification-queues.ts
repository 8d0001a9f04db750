import type { AppStore } from '../apps/app-store.js';
import { backoffDelay } from '../lib/backoff.js';
import type { BackoffPolicy } from '../lib/backoff.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Notification } from '../notification/notification-schema.js';
import { parseNotification } from '../notification/parse-notification.js';
import type { QueueDriverSettings } from '../queue/queue-driver.js';
import { CHUNK_JOB, CHUNK_QUEUE, NOTIFY_JOB, NOTIFY_QUEUE, parseChunkJob } from './chunk-job.js';
import type { ChunkJob } from './chunk-job.js';
import type { NotificationFinisher } from './notification-finisher.js';

export interface NotificationQueueContext {
  apps: AppStore;
  finisher: NotificationFinisher;
  metrics: Metrics;
  log: Logger;
  /** Attempts of a job whose handler keeps throwing (Redis trouble, bugs). */
  maxAttempts: number;
  backoff?: BackoffPolicy;
}

const defaultBackoff: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000 };

/**
 * The `notifications` queue: job name `notify`, jobId = notification id, data = the
 * notification. Data from other producers is validated like an HTTP body; invalid data
 * fails the job at once (counted, logged, and shown as failed in the status when the
 * app is known) and never holds up the queue.
 */
export function notifyQueueSettings(c: NotificationQueueContext): QueueDriverSettings<Notification> {
  return {
    name: NOTIFY_QUEUE,
    jobName: NOTIFY_JOB,
    parse: (data, job) => {
      const checked = parseNotification(data, { jobId: job.id });
      return checked.ok ? { ok: true, value: checked.notification } : { ok: false, error: `${checked.path || 'notification'}: ${checked.error}` };
    },
    maxAttempts: c.maxAttempts,
    backoff: (attempt) => backoffDelay(attempt, c.backoff ?? defaultBackoff),
    onInvalid: ({ id, error, data }) => {
      c.metrics.invalidJobs.inc();
      const app = knownApp(c.apps, data);
      c.log.error({ job: id, queue: NOTIFY_QUEUE, app, error }, 'notification job data is invalid: job failed');
      if (app) failQuietly(c, id, app, `invalid job data: ${error}`);
    },
    onFailed: ({ id, reason, data }) => {
      if (c.apps.byId(data.app)) failQuietly(c, id, data.app, reason);
    },
    onError: ({ id, error }) => c.log.error({ job: id, queue: NOTIFY_QUEUE, err: error }, 'notification job handler failed'),
  };
}

/** The `notification-chunks` queue: Herald's own slices of a notification's device tokens. */
export function chunkQueueSettings(c: NotificationQueueContext): QueueDriverSettings<ChunkJob> {
  return {
    name: CHUNK_QUEUE,
    jobName: CHUNK_JOB,
    parse: parseChunkJob,
    maxAttempts: c.maxAttempts,
    backoff: (attempt) => backoffDelay(attempt, c.backoff ?? defaultBackoff),
    onInvalid: ({ id, error }) => {
      c.metrics.invalidJobs.inc();
      c.log.error({ job: id, queue: CHUNK_QUEUE, error }, 'chunk job data is invalid: job failed');
    },
    onFailed: ({ id, reason, data }) => {
      c.log.error({ job: id, notification: data.notification, app: data.app, reason }, 'chunk job failed for good');
      failQuietly(c, data.notification, data.app, `chunk ${data.chunk}: ${reason}`);
    },
    onError: ({ id, error }) => c.log.error({ job: id, queue: CHUNK_QUEUE, err: error }, 'chunk job handler failed'),
  };
}

function knownApp(apps: AppStore, data: unknown): string | undefined {
  const app = typeof data === 'object' && data !== null ? (data as { app?: unknown }).app : undefined;
  return typeof app === 'string' && apps.byId(app) ? app : undefined;
}

function failQuietly(c: NotificationQueueContext, id: string, app: string, reason: string): void {
  c.finisher.fail(id, app, reason).catch((err: unknown) => c.log.error({ notification: id, app, err }, 'could not record notification failure'));
}
