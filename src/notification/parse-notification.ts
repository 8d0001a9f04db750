import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { normalizeToken } from '../providers/apns/tokens.js';
import { notificationSchema } from './notification-schema.js';
import type { Notification } from './notification-schema.js';

/** The first problem found, with where it is: `apns.tokens[3]`, `realtime.channels[0]`, or '' for the whole body. */
export interface NotificationProblem {
  readonly error: string;
  readonly path: string;
}

export type NotificationCheck = { ok: true; notification: Notification } | ({ ok: false } & NotificationProblem);

export interface ParseOptions {
  /** The id the notification is queued under (a BullMQ jobId); `id` in the data must agree with it. */
  jobId?: string;
  /** Makes an id when neither the data nor `jobId` has one. */
  generateId?: () => string;
}

/**
 * Validates notification v1 and normalises it: device tokens lose spaces and `<>`,
 * become lower-case, and duplicates are dropped (a device gets a notification once).
 * Used at every entry: the HTTP API, a job picked up by the worker, the CLI.
 */
export function parseNotification(input: unknown, options: ParseOptions = {}): NotificationCheck {
  const parsed = notificationSchema.safeParse(input);
  if (!parsed.success) return { ok: false, ...firstProblem(parsed.error) };
  const data = parsed.data;

  if (options.jobId !== undefined && data.id !== undefined && data.id !== options.jobId) {
    return { ok: false, error: `must equal the job id '${options.jobId.slice(0, 128)}'`, path: 'id' };
  }
  const id = data.id ?? options.jobId ?? (options.generateId ?? randomUUID)();

  let apns = data.apns;
  if (apns) {
    const unique = new Set<string>();
    for (const [index, raw] of apns.tokens.entries()) {
      const token = normalizeToken(raw);
      if (!token.ok) return { ok: false, error: token.detail, path: `apns.tokens[${index}]` };
      unique.add(token.token);
    }
    apns = { ...apns, tokens: [...unique] };
  }

  const notification: Notification = {
    v: 1,
    app: data.app,
    id,
    ...(apns ? { apns } : {}),
    ...(data.realtime ? { realtime: data.realtime } : {}),
    ...(data.sendAt === undefined ? {} : { sendAt: data.sendAt }),
  };
  return { ok: true, notification };
}

/** `['apns', 'tokens', 3]` → `apns.tokens[3]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function firstProblem(error: z.ZodError): NotificationProblem {
  const issue = error.issues[0];
  if (!issue) return { error: 'is invalid', path: '' };
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return { error: `unknown field '${key.slice(0, 64)}'`, path: formatPath([...issue.path, key]) };
  }
  if (issue.code === 'invalid_type' && issue.path.length === 0) {
    return { error: 'the body must be a JSON object (a notification)', path: '' };
  }
  return { error: describe(issue), path: formatPath(issue.path) };
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    return issue.input === undefined ? `is required (${issue.expected})` : `must be ${article(issue.expected)}`;
  }
  return issue.message;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
