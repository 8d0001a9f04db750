import { createHash } from 'node:crypto';
import { idPattern } from './notification-schema.js';
import type { NotificationRef } from './notification-schema.js';

/**
 * Herald's queue job ids (docs/queue.md "Job ids"). A BullMQ job's hash lives at
 * `<prefix>:<queue>:<jobId>`, next to the queue's own keys (`wait`, `meta`, `events`, …):
 * a caller's id used as is could name one of them. These ids are always
 * `<tag>:<app>:<id>` — three parts, which BullMQ accepts, no queue key has a `:`,
 * never an integer — and carry the app, because notification ids are per app.
 */

/** Where producers add notifications: queue `notifications` under `queue.prefix`, job name `notify`. */
export const NOTIFY_QUEUE = 'notifications';
export const NOTIFY_JOB = 'notify';

const NOTIFY_JOB_ID = /^n:([^:]+):([^:]+)$/;

/** The `notify` job of one app's notification: `n:<app>:<id>`. */
export function notifyJobId(ref: NotificationRef): string {
  return `n:${ref.app}:${ref.id}`;
}

/** The app and id a `notify` job id names, or undefined for an id of another form (another producer's own). */
export function parseNotifyJobId(jobId: string): NotificationRef | undefined {
  const match = NOTIFY_JOB_ID.exec(jobId);
  return match?.[1] && match[2] ? { app: match[1], id: match[2] } : undefined;
}

/**
 * A notification id as the last part of a job id. An id that another producer's job id
 * gave the notification may hold characters Herald's ids do not (`:`); it is replaced by
 * a digest so the job id keeps its three parts.
 */
export function jobIdPart(id: string): string {
  return idPattern.test(id) ? id : `h-${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}

/** One chunk of one app's notification: `c:<app>:<id>.c<chunk>`. */
export function chunkJobId(ref: NotificationRef, chunk: number): string {
  return `c:${ref.app}:${jobIdPart(ref.id)}.c${chunk}`;
}
