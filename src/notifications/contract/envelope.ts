import { randomBytes } from 'node:crypto';
import { jobIdPart } from './job-ids.js';
import { parseNotification } from './parse-notification.js';
import type { NotificationLimit } from './parse-notification.js';
import type { Notification, NotificationRef } from './notification-schema.js';

/**
 * The bulk shape (docs/queue.md "Envelopes"): one queue job that carries many
 * notifications, so a producer pays one queue write — and a worker one claim and one
 * finish — for all of them. Each notification keeps its own id, status, idempotency and
 * per-token checkpoints. Queue `notification-batches` of the notification's partition,
 * job name `notify-batch`, job id `b:<partition>:<unique>`, data `{"v":1,"notifications":[...]}`.
 */
export const ENVELOPE_QUEUE = 'notification-batches';
export const ENVELOPE_JOB = 'notify-batch';
/** Notifications one envelope may carry. */
export const MAX_ENVELOPE_NOTIFICATIONS = 1_000;
/**
 * A notification with more device tokens than this travels alone (`singleEnvelopeJobId`)
 * rather than in a shared envelope, so shared envelopes stay small: the daemon's intake
 * and herald/client cut by the same rule.
 */
export const MAX_SHARED_TOKENS = 16;

/** A fresh envelope job id of partition `partition`: three parts, never a queue key, never an integer. */
export function envelopeJobId(partition: number): string {
  return `b:${partition}:${Date.now().toString(36)}${randomBytes(9).toString('base64url')}`;
}

/**
 * How a shared envelope (`envelopeJobId`) is enqueued: its id was just made from random
 * bytes, so no job can have it and none is looked for; nothing asks about it once it has
 * completed, so it is forgotten then (the queue driver's EnqueueOptions).
 */
export const SHARED_ENVELOPE_ENQUEUE = Object.freeze({ freshId: true, forgetWhenCompleted: true } as const);

/**
 * The envelope of a notification that travels alone (a `sendAt` one, or one with many
 * tokens): `e:<app>:<id>`, so a repeat is the same job and a cancel can remove it.
 */
export function singleEnvelopeJobId(ref: NotificationRef): string {
  return `e:${ref.app}:${jobIdPart(ref.id)}`;
}

/** An entry of an envelope that is not a valid notification: failed on its own, the others go on. */
export interface InvalidEntry {
  index: number;
  /** The app and id, when the entry names a known-looking pair (its status is then failed). */
  ref?: NotificationRef;
  error: string;
  limit?: NotificationLimit;
}

/** An envelope: what a producer writes (`v`, `notifications`), and after parsing the entries refused. */
export interface Envelope {
  v: 1;
  notifications: Notification[];
  /** Set by parsing, never written: the entries that are not valid notifications. */
  invalid?: InvalidEntry[];
}

export type EnvelopeCheck = { ok: true; envelope: Envelope } | { ok: false; error: string };

/** Validates an envelope read from the queue: its frame as a whole, each notification as a `notify` job's data. */
export function parseEnvelope(data: unknown, options: { now?: () => number } = {}): EnvelopeCheck {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, error: 'data: must be an object {"v":1,"notifications":[...]}' };
  const frame = data as { v?: unknown; notifications?: unknown };
  const extra = Object.keys(frame).find((key) => key !== 'v' && key !== 'notifications');
  if (extra !== undefined) return { ok: false, error: `data: unknown field '${extra.slice(0, 64)}'` };
  if (frame.v !== 1) return { ok: false, error: 'v: must be 1' };
  if (!Array.isArray(frame.notifications) || frame.notifications.length === 0) return { ok: false, error: 'notifications: must be a non-empty array' };
  if (frame.notifications.length > MAX_ENVELOPE_NOTIFICATIONS) return { ok: false, error: `notifications: at most ${MAX_ENVELOPE_NOTIFICATIONS} per envelope` };
  const invalid: InvalidEntry[] = [];
  const envelope: Envelope = { v: 1, notifications: [], invalid };
  const seen = new Set<string>();
  const entryOptions = Object.assign({}, options, { generateId: () => '' });
  frame.notifications.forEach((entry: unknown, index) => {
    const checked = parseNotification(entry, entryOptions);
    if (!checked.ok) {
      const ref = refOf(entry);
      invalid.push({ index, ...(ref ? { ref } : {}), error: `notifications[${index}]${checked.path ? `.${checked.path}` : ''}: ${checked.error}`, ...(checked.limit ? { limit: checked.limit } : {}) });
      return;
    }
    const n = checked.notification;
    if (n.id === '') {
      invalid.push({ index, error: `notifications[${index}].id: required in an envelope` });
      return;
    }
    // The same id twice in one envelope is one notification.
    const key = `${n.app}\u0000${n.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    envelope.notifications.push(n);
  });
  return { ok: true, envelope };
}

function refOf(entry: unknown): NotificationRef | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const { app, id } = entry as { app?: unknown; id?: unknown };
  return typeof app === 'string' && typeof id === 'string' && app.length > 0 && id.length > 0 && id.length <= 128 && app.length <= 64 ? { app, id } : undefined;
}
