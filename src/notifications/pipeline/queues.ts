import type { AppStore } from '../../apps/app-store.js';
import { backoffDelay } from '../../lib/backoff.js';
import type { BackoffPolicy } from '../../lib/backoff.js';
import type { Logger } from '../../log/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Notification } from '../contract/notification-schema.js';
import { parseNotification } from '../contract/parse-notification.js';
import type { QueueDriverSettings } from '../../queue/queue-driver.js';
import { NOTIFY_JOB, NOTIFY_QUEUE } from '../contract/job-ids.js';
import { CHUNK_JOB, CHUNK_QUEUE, parseChunkJob } from './chunk-job.js';
import type { ChunkJob } from './chunk-job.js';
import { parseNotifyJobId } from '../contract/job-ids.js';
import type { NotificationFinisher } from './finisher.js';
import type { NotificationRef } from '../status/status-store.js';

export interface NotificationQueueContext {
  apps: AppStore;
  finisher: NotificationFinisher;
  metrics: Metrics;
  log: Logger;
  /** Attempts of a job whose handler keeps throwing (Redis trouble, bugs). */
  maxJobAttempts: number;
  backoff?: BackoffPolicy;
}

const defaultBackoff: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000 };

/**
 * The `notifications` queue: job name `notify`, jobId `n:<app>:<id>` (job-ids.ts), data =
 * the notification. Jobs of other producers under another job id (the notification id
 * itself, as before that rule, or BullMQ's own) are taken too: the id is then the data's,
 * else the job id. Data is validated like an HTTP body; invalid data fails the job at
 * once (counted, logged, and shown as failed in the status when the app is known) and
 * never holds up the queue.
 */
export function notifyQueueSettings(c: NotificationQueueContext): QueueDriverSettings<Notification> {
  return {
    name: NOTIFY_QUEUE,
    jobName: NOTIFY_JOB,
    parse: (data, job) => {
      const named = parseNotifyJobId(job.id);
      const checked = parseNotification(data, { jobId: named?.id ?? job.id });
      // The job id names the app too: a job filed under one app may not deliver another's notification.
      if (checked.ok && named && named.app !== checked.notification.app) return { ok: false, error: `app: must equal the job id's app '${named.app}'` };
      if (checked.ok) return { ok: true, value: checked.notification };
      if (checked.limit) c.metrics.inputLimitRefusals.inc({ reason: checked.limit, type: 'job' });
      return { ok: false, error: `${checked.path || 'notification'}: ${checked.error}` };
    },
    maxJobAttempts: c.maxJobAttempts,
    backoff: (attempt) => backoffDelay(attempt, c.backoff ?? defaultBackoff),
    onInvalid: ({ id, error, data }) => {
      c.metrics.invalidJobs.inc();
      const named = parseNotifyJobId(id);
      const app = named ? (c.apps.byId(named.app) ? named.app : undefined) : knownApp(c.apps, data);
      c.log.error({ job: id, queue: NOTIFY_QUEUE, app, error }, 'notification job data is invalid: job failed');
      if (app) failQuietly(c, { app, id: named?.id ?? dataId(data) ?? id }, `invalid job data: ${error}`);
    },
    onFailed: ({ reason, data }) => {
      if (c.apps.byId(data.app)) failQuietly(c, { app: data.app, id: data.id }, reason);
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
    maxJobAttempts: c.maxJobAttempts,
    backoff: (attempt) => backoffDelay(attempt, c.backoff ?? defaultBackoff),
    onInvalid: ({ id, error }) => {
      c.metrics.invalidJobs.inc();
      c.log.error({ job: id, queue: CHUNK_QUEUE, error }, 'chunk job data is invalid: job failed');
    },
    onFailed: ({ id, reason, data }) => {
      c.log.error({ job: id, notification: data.notification, app: data.app, reason }, 'chunk job failed for good');
      failQuietly(c, { app: data.app, id: data.notification }, `chunk ${data.chunk}: ${reason}`);
    },
    onError: ({ id, error }) => c.log.error({ job: id, queue: CHUNK_QUEUE, err: error }, 'chunk job handler failed'),
  };
}

function knownApp(apps: AppStore, data: unknown): string | undefined {
  const app = typeof data === 'object' && data !== null ? (data as { app?: unknown }).app : undefined;
  return typeof app === 'string' && apps.byId(app) ? app : undefined;
}

/** The data's own id when it has a usable one (the status record is filed under it). */
function dataId(data: unknown): string | undefined {
  const id = typeof data === 'object' && data !== null ? (data as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : undefined;
}

function failQuietly(c: NotificationQueueContext, ref: NotificationRef, reason: string): void {
  c.finisher.fail(ref, reason).catch((err: unknown) => c.log.error({ notification: ref.id, app: ref.app, err }, 'could not record notification failure'));
}
