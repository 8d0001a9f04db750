import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { MAX_JSON_DEPTH, valueTooDeep } from '../../lib/json-depth.js';
import { normalizeToken } from '../../lib/apns-tokens.js';
import { serializeJson } from '../../lib/safe-json.js';
import { MAX_SEND_AHEAD_DAYS, MAX_SEND_AHEAD_MS, MAX_WEBPUSH_DATA_BYTES, notificationSchema } from './notification-schema.js';
import type { Alert, ApnsPart, FcmPart, Notification, NotificationInput, Targets, WebPushPart } from './notification-schema.js';
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

  const targets = checkTargets(data);
  if (!targets.ok) return targets;
  const { to } = targets;

  // `to` reaches every platform the alert can fill; a part given explicitly must be complete.
  const pushParts = data.fcm !== undefined || data.webpush !== undefined;
  let apns: ApnsPart | undefined;
  if (data.apns || (to && (data.alert || !pushParts))) {
    const { tokens: raw = [], payload, ...fields } = data.apns ?? {};
    if (!to && raw.length === 0) return { ok: false, error: 'needs at least one device token (or `to` with users or interests)', path: 'apns.tokens' };
    const unique = new Set<string>();
    for (let index = 0; index < raw.length; index += 1) {
      const token = normalizeToken(raw[index]);
      if (!token.ok) return { ok: false, error: token.detail, path: `apns.tokens[${index}]` };
      unique.add(token.token);
    }
    const filled = payload ?? alertPayload(data.alert);
    if (!filled) return { ok: false, error: 'is required when there is no alert (title/body)', path: data.apns ? 'apns.payload' : 'alert' };
    apns = { tokens: [...unique], payload: filled, ...fields };
  }

  let fcm: FcmPart | undefined;
  if (data.fcm || (to && data.alert)) {
    const { tokens: raw = [], notification: given, ...fields } = data.fcm ?? {};
    if (!to && raw.length === 0) return { ok: false, error: 'needs at least one registration token (or `to` with users or interests)', path: 'fcm.tokens' };
    const notification = given ?? alertFields(data.alert);
    if (!notification && fields.data === undefined) return { ok: false, error: 'needs a notification, data, or an alert (title/body)', path: 'fcm' };
    fcm = { tokens: [...new Set(raw)], ...fields, ...(notification ? { notification } : {}) };
  }

  let webpush: WebPushPart | undefined;
  if (data.webpush || (to && data.alert)) {
    if (!to) return { ok: false, error: 'needs `to`: browsers are reached through the devices of users and interests', path: 'webpush' };
    const { data: given, ...fields } = data.webpush ?? {};
    const text = given === undefined ? (data.alert ? serializeJson(alertFields(data.alert)) : undefined) : typeof given === 'string' ? { ok: true as const, json: given } : serializeJson(given);
    if (!text) return { ok: false, error: 'is required when there is no alert (title/body)', path: 'webpush.data' };
    if (!text.ok) return { ok: false, error: text.error, path: 'webpush.data' };
    const bytes = Buffer.byteLength(text.json);
    if (bytes > MAX_WEBPUSH_DATA_BYTES) return { ok: false, error: `is ${bytes} bytes; Web Push carries at most ${MAX_WEBPUSH_DATA_BYTES}`, path: 'webpush.data' };
    webpush = { data: text.json, ...fields };
  }

  const notification: Notification = {
    v: 1,
    app: data.app,
    id,
    ...(apns ? { apns } : {}),
    ...(fcm ? { fcm } : {}),
    ...(webpush ? { webpush } : {}),
    ...(data.realtime ? { realtime: data.realtime } : {}),
    ...(to ? { to } : {}),
    ...(data.deliver === undefined ? {} : { deliver: data.deliver }),
    ...(data.alert === undefined ? {} : { alert: data.alert }),
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

type Parsed = z.output<typeof notificationSchema>;

/**
 * The rules between fields: `to` names someone, users and interests lose duplicates, a
 * realtime part has channels or users to go to, and online-first has an event for those online.
 */
function checkTargets(data: Parsed): { ok: true; to: Targets | undefined } | ({ ok: false } & NotificationProblem) {
  const users = data.to?.users === undefined ? undefined : [...new Set(data.to.users)];
  const interests = data.to?.interests === undefined ? undefined : [...new Set(data.to.interests)];
  if (data.to && !users?.length && !interests?.length) return { ok: false, error: 'needs at least one user or interest', path: 'to' };
  if (data.realtime && data.realtime.channels === undefined && !users?.length) {
    return { ok: false, error: 'is required unless to.users names users', path: 'realtime.channels' };
  }
  if (data.deliver === 'online-first' && users?.length && !data.realtime) {
    return { ok: false, error: 'online-first needs a realtime part: the event online users get instead of a push', path: 'realtime' };
  }
  if (data.alert && data.alert.title === undefined && data.alert.body === undefined) return { ok: false, error: 'needs a title or a body', path: 'alert' };
  if (!data.to) return { ok: true, to: undefined };
  const to: Targets = {};
  if (users?.length) to.users = users;
  if (interests?.length) to.interests = interests;
  return { ok: true, to };
}

/** `{"aps":{"alert":{title, body}}}` from a platform-neutral alert. */
function alertPayload(alert: Alert | undefined): Record<string, unknown> | undefined {
  const fields = alertFields(alert);
  return fields ? { aps: { alert: fields } } : undefined;
}

/** `{title, body}` with what the alert has: FCM's notification, Web Push's default data. */
function alertFields(alert: Alert | undefined): { title?: string; body?: string } | undefined {
  if (!alert) return undefined;
  const fields: { title?: string; body?: string } = {};
  if (alert.title !== undefined) fields.title = alert.title;
  if (alert.body !== undefined) fields.body = alert.body;
  return fields;
}

export type { NotificationInput };
