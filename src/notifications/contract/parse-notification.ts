import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { MAX_JSON_DEPTH, valueTooDeep } from '../../lib/json-depth.js';
import { normalizeToken } from '../../lib/apns-tokens.js';
import { MAX_SEND_AHEAD_DAYS, MAX_SEND_AHEAD_MS, notificationSchema } from './notification-schema.js';
import type { Notification } from './notification-schema.js';
import { formatPath } from '../../lib/format-path.js';

/** The first problem found, with where it is: `apns.tokens[3]`, `realtime.channels[0]`, or '' for the whole body. */
export interface NotificationProblem {
  readonly error: string;
  readonly path: string;
  /** Set when a contract limit refused it (counted in herald_input_limit_refusals_total). */
  readonly limit?: NotificationLimit;
}

export type NotificationLimit = 'json_depth' | 'send_at';

export type NotificationCheck = { ok: true; notification: Notification } | ({ ok: false } & NotificationProblem);

export interface ParseOptions {
  /** The id the notification is queued under (a BullMQ jobId); `id` in the data must agree with it. */
  jobId?: string;
  /** Makes an id when neither the data nor `jobId` has one. */
  generateId?: () => string;
  /** The clock `sendAt` is measured against. */
  now?: () => number;
}

/**
 * Validates notification v1 and normalises it: device tokens lose spaces and `<>`,
 * become lower-case, and duplicates are dropped (a device gets a notification once).
 * Used at every entry: the HTTP API, a job picked up by the worker, the CLI.
 */
export function parseNotification(input: unknown, options: ParseOptions = {}): NotificationCheck {
  // First: nothing below (nor the realtime publish, nor a status record) may meet data too deep to serialise.
  const deep = valueTooDeep(input, MAX_JSON_DEPTH);
  if (deep) return { ok: false, error: `nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`, path: deep.path, limit: 'json_depth' };
  const parsed = notificationSchema.safeParse(input);
  if (!parsed.success) return { ok: false, ...firstProblem(parsed.error) };
  const data = parsed.data;
  if (data.sendAt !== undefined && Date.parse(data.sendAt) - (options.now ?? Date.now)() > MAX_SEND_AHEAD_MS) {
    return { ok: false, error: `must be at most ${MAX_SEND_AHEAD_DAYS} days ahead`, path: 'sendAt', limit: 'send_at' };
  }

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
