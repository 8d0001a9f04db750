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
import { ENVELOPE_JOB, ENVELOPE_QUEUE, parseEnvelope } from '../contract/envelope.js';
import type { Envelope } from '../contract/envelope.js';
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

/**
 * Partition `partition` of the `notification-batches` queue: envelopes of many notifications
 * (contract/envelope.ts). An entry that is not a valid notification is failed on its own
 * (counted, logged, its status failed when its app is known); the envelope runs the rest.
 */
export function envelopeQueueSettings(c: NotificationQueueContext, partition: number): QueueDriverSettings<Envelope> {
  return {
    name: ENVELOPE_QUEUE,
    partition,
    jobName: ENVELOPE_JOB,
    parse: (data) => {
      const checked = parseEnvelope(data);
      return checked.ok ? { ok: true, value: checked.envelope } : checked;
    },
    maxJobAttempts: c.maxJobAttempts,
    backoff: (attempt) => backoffDelay(attempt, c.backoff ?? defaultBackoff),
    onInvalid: ({ id, error }) => {
      c.metrics.invalidJobs.inc();
      c.log.error({ job: id, queue: ENVELOPE_QUEUE, error }, 'envelope job data is invalid: job failed');
    },
    onFailed: ({ id, reason, data }) => {
      c.log.error({ job: id, queue: ENVELOPE_QUEUE, reason, notifications: data.notifications.length }, 'envelope job failed for good');
      for (const n of data.notifications) if (c.apps.byId(n.app)) failQuietly(c, { app: n.app, id: n.id }, reason);
    },
    onError: ({ id, error }) => c.log.error({ job: id, queue: ENVELOPE_QUEUE, err: error }, 'envelope job handler failed'),
  };
}

/** Fails the envelope entries that are not valid notifications, each on its own. */
export function failInvalidEntries(c: NotificationQueueContext, job: string, envelope: Envelope): void {
  for (const entry of envelope.invalid ?? []) {
    c.metrics.invalidJobs.inc();
    if (entry.limit) c.metrics.inputLimitRefusals.inc({ reason: entry.limit, type: 'job' });
    const app = entry.ref && c.apps.byId(entry.ref.app) ? entry.ref.app : undefined;
    c.log.error({ job, queue: ENVELOPE_QUEUE, app, error: entry.error }, 'envelope entry is not a valid notification: failed');
    if (app && entry.ref) failQuietly(c, entry.ref, `invalid job data: ${entry.error}`);
  }
}

/** Partition `partition` of the `notification-chunks` queue: Herald's own slices of a notification's device tokens. */
export function chunkQueueSettings(c: NotificationQueueContext, partition = 0): QueueDriverSettings<ChunkJob> {
  return {
    name: CHUNK_QUEUE,
    partition,
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
