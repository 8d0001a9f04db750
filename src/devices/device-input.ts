// Validation of device registrations as they arrive over HTTP: the registry only ever sees these values.
import { z } from 'zod';
import { normalizeToken } from '../lib/apns-tokens.js';
import { formatPath } from '../lib/format-path.js';
import { MAX_USER_ID_LENGTH, isValidSigninUserId } from '../gateway/channels/channel-name.js';
import { MAX_FCM_TOKEN_LENGTH, fcmTokenPattern } from '../lib/fcm-rules.js';
import type { Device, DevicePlatform } from './device-registry.js';

export const MAX_INTERESTS_PER_DEVICE = 100;
export const MAX_WEB_DEVICE_ID_LENGTH = 256;
export const MAX_ENDPOINT_LENGTH = 2048;
/** Registrations are small (100 interests of 164 characters, one subscription): the route's body limit. */
export const MAX_REGISTRATION_BYTES = 32 * 1024;

export const USER_ID_RULE = `must be 1 to ${MAX_USER_ID_LENGTH} characters of A-Z a-z 0-9 _ - = @ , . ; (as a Pusher user id)`;

export const interestPattern = /^[A-Za-z0-9_\-=@,.;]{1,164}$/;
const webIdPattern = /^[A-Za-z0-9_\-.]+$/;
const base64url = /^[A-Za-z0-9_-]+={0,2}$/;

/** Bytes of a base64url string (padding optional), or undefined when it is not base64url. */
function base64urlBytes(text: string): Buffer | undefined {
  return base64url.test(text) ? Buffer.from(text.replace(/=+$/, ''), 'base64url') : undefined;
}

const subscriptionSchema = z.strictObject({
  endpoint: z
    .string()
    .max(MAX_ENDPOINT_LENGTH, `must be at most ${MAX_ENDPOINT_LENGTH} characters`)
    .refine((value) => URL.canParse(value) && new URL(value).protocol === 'https:', 'must be an https URL'),
  keys: z.strictObject({
    p256dh: z.string().refine((value) => {
      const bytes = base64urlBytes(value);
      return bytes?.length === 65 && bytes[0] === 0x04;
    }, 'must be base64url of an uncompressed P-256 point (65 bytes starting 0x04)'),
    auth: z.string().refine((value) => base64urlBytes(value)?.length === 16, 'must be base64url of 16 bytes'),
  }),
});

/** The PUT body. Strict: a field Herald does not know is refused, not dropped. */
export const deviceRegistrationSchema = z.strictObject({
  userId: z
    .string()
    .refine(isValidSigninUserId, USER_ID_RULE)
    .describe('The user the device belongs to (a Pusher user id: what pusher:signin proves)'),
  platform: z.enum(['apns', 'fcm', 'web'], { error: 'must be one of apns, fcm, web' }),
  interests: z
    .array(z.string().regex(interestPattern, 'must be 1 to 164 characters of A-Z a-z 0-9 _ - = @ , . ;'))
    .max(MAX_INTERESTS_PER_DEVICE, `at most ${MAX_INTERESTS_PER_DEVICE} interests per device`)
    .optional()
    .describe('Interests the device is subscribed to; replaces the previous ones'),
  topic: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,255}$/, 'must be a bundle id (1 to 255 characters of A-Z a-z 0-9 . _ -)')
    .optional()
    .describe("APNs only: the app's bundle id, when it differs from the app's configured topic"),
  environment: z.enum(['production', 'sandbox'], { error: 'must be production or sandbox' }).optional().describe('APNs only'),
  subscription: subscriptionSchema.optional().describe('Web Push only (required there): PushSubscription.toJSON()'),
});

export const deviceRecordSchema = z.looseObject({
  token: z.string(),
  userId: z.string(),
  platform: z.enum(['apns', 'fcm', 'web']),
  interests: z.array(z.string()),
  topic: z.string().optional(),
  environment: z.enum(['production', 'sandbox']).optional(),
  subscription: z.looseObject({ endpoint: z.string(), keys: z.looseObject({ p256dh: z.string(), auth: z.string() }) }).optional(),
  updatedAt: z.number().int().describe('When it was last registered (ms since the epoch)'),
});

export type InputCheck<T> = { ok: true; value: T } | { ok: false; error: string; path: string };

/**
 * The registry key of a token from a URL: an APNs token in its normalized form (so
 * `<AB12 …>` and `ab12…` are one device), any other token as given. Undefined when it
 * is neither an APNs token nor an FCM token / Web Push id.
 */
export function deviceToken(raw: string): string | undefined {
  const apns = normalizeToken(raw);
  if (apns.ok) return apns.token;
  return raw.length <= MAX_FCM_TOKEN_LENGTH && fcmTokenPattern.test(raw) ? raw : undefined;
}

/** The token of a platform's device, canonical, or why it is not one. */
function platformToken(platform: DevicePlatform, raw: string): InputCheck<string> {
  if (platform === 'apns') {
    const token = normalizeToken(raw);
    return token.ok ? { ok: true, value: token.token } : { ok: false, error: token.detail, path: 'token' };
  }
  const [pattern, max, what] =
    platform === 'fcm' ? [fcmTokenPattern, MAX_FCM_TOKEN_LENGTH, 'an FCM registration token: A-Z a-z 0-9 _ : - .'] : [webIdPattern, MAX_WEB_DEVICE_ID_LENGTH, 'a device id: A-Z a-z 0-9 _ - .'];
  if (raw.length === 0 || raw.length > max || !pattern.test(raw)) return { ok: false, error: `must be ${what}, 1 to ${max} characters`, path: 'token' };
  // A hex-only id is still keyed like an APNs token, so every route finds it under one spelling.
  return { ok: true, value: deviceToken(raw) ?? raw };
}

/** A PUT: the token from the path, the body as received. */
export function parseRegistration(rawToken: string, body: unknown, now: number): InputCheck<Device> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, error: 'the body must be a JSON object', path: '' };
  const parsed = deviceRegistrationSchema.safeParse(body);
  if (!parsed.success) return { ok: false, ...firstProblem(parsed.error) };
  const input = parsed.data;
  const token = platformToken(input.platform, rawToken);
  if (!token.ok) return token;
  if (input.platform !== 'apns') {
    if (input.topic !== undefined) return { ok: false, error: 'only APNs devices have a topic', path: 'topic' };
    if (input.environment !== undefined) return { ok: false, error: 'only APNs devices have an environment', path: 'environment' };
  }
  if (input.platform === 'web' && !input.subscription) return { ok: false, error: 'is required for a web device', path: 'subscription' };
  if (input.platform !== 'web' && input.subscription) return { ok: false, error: 'only web devices have a subscription', path: 'subscription' };
  const device: Device = {
    token: token.value,
    userId: input.userId,
    platform: input.platform,
    interests: [...new Set(input.interests ?? [])],
    ...(input.topic === undefined ? {} : { topic: input.topic }),
    ...(input.environment === undefined ? {} : { environment: input.environment }),
    ...(input.subscription ? { subscription: input.subscription } : {}),
    updatedAt: now,
  };
  return { ok: true, value: device };
}

function firstProblem(error: z.ZodError): { error: string; path: string } {
  const issue = error.issues[0];
  if (!issue) return { error: 'is invalid', path: '' };
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return { error: `unknown field '${key.slice(0, 64)}'`, path: formatPath([...issue.path, key]) };
  }
  if (issue.code === 'invalid_type') return { error: issue.input === undefined ? `is required (${issue.expected})` : `must be of type ${issue.expected}`, path: formatPath(issue.path) };
  return { error: issue.message, path: formatPath(issue.path) };
}
