import { z } from 'zod';
import { headerValueMessage, headerValuePattern, headerWordMessage, headerWordPattern } from '../../lib/header-value.js';
import { pushTypes } from '../../lib/apns-push-types.js';
import { INTEREST_MESSAGE, USER_ID_MESSAGE, interestPattern, isValidUserId } from '../../lib/user-ids.js';
import { fcmTokenPattern, isFcmReservedKey } from '../../lib/fcm-rules.js';

/**
 * Notification v1, as producers send it (HTTP body, BullMQ job data). This schema is
 * the published contract: schema/notification.schema.json is generated from it
 * (scripts/gen-schema.mjs). Checks JSON Schema cannot express (token normalisation,
 * duplicates, size of the APNs payload once serialised) run in parse-notification.ts.
 */

export const MAX_TOKENS = 100_000;
export const MAX_ID_LENGTH = 128;
export const MAX_CHANNELS = 100;
export const MAX_USERS = 1_000;
export const MAX_INTERESTS = 100;
export const MAX_COLLAPSE_ID_BYTES = 64;
/**
 * The furthest `sendAt` accepted, counted from when the notification is accepted (or its
 * job picked up). A fixed contract limit: a held notification keeps a timer and a queue
 * entry, and a month covers scheduled reminders; later ones are scheduled later.
 */
export const MAX_SEND_AHEAD_DAYS = 30;
export const MAX_SEND_AHEAD_MS = MAX_SEND_AHEAD_DAYS * 24 * 3600 * 1000;

/** No `:` (BullMQ job ids), no `/` (URL path segment), no spaces. */
export const idPattern = /^[A-Za-z0-9_\-.=@,;+~]+$/;
/** A device token as users paste it: hex, possibly upper-case, spaced or in `<…>`. */
export const rawTokenPattern = /^[\s<>0-9A-Fa-f]+$/;
const channelPattern = /^[A-Za-z0-9_\-=@,.;#]+$/;
const appPattern = /^[A-Za-z0-9_\-=@,.;]+$/;

const isIntegerString = (value: string): boolean => String(Number.parseInt(value, 10)) === value;

export const pushTypeNames = Object.keys(pushTypes) as Array<keyof typeof pushTypes>;

export const apnsPartSchema = z
  .strictObject({
    tokens: z
      .array(z.string().regex(rawTokenPattern, 'must be a hex device token'))
      .max(MAX_TOKENS, `at most ${MAX_TOKENS} device tokens per notification`)
      .optional()
      .describe('APNs device tokens (hex; spaces, <> and upper case are accepted and normalised); at least one unless `to` names users or interests'),
    pushType: z
      .enum(pushTypeNames as [string, ...string[]], { error: `must be one of ${pushTypeNames.join(', ')}` })
      .optional()
      .describe('apns-push-type; default alert'),
    topic: z
      .string()
      .min(1)
      .max(255)
      .regex(headerWordPattern, headerWordMessage)
      .optional()
      .describe("apns-topic; default the app's topic with the push type's suffix"),
    priority: z
      .union([z.literal(1), z.literal(5), z.literal(10)], { error: 'must be 1, 5 or 10' })
      .optional()
      .describe('apns-priority; default 10 (5 for background)'),
    expiration: z.number().int().min(0).optional().describe('UNIX seconds after which APNs (and Herald) drop it; 0 = try once'),
    collapseId: z
      .string()
      .min(1)
      .max(MAX_COLLAPSE_ID_BYTES, `must be at most ${MAX_COLLAPSE_ID_BYTES} bytes`)
      .regex(headerValuePattern, headerValueMessage)
      .optional()
      .describe('apns-collapse-id, at most 64 bytes of printable ASCII'),
    payload: z
      .record(z.string(), z.unknown())
      .refine((value) => Object.keys(value).length > 0, 'must not be empty')
      .optional()
      .describe('The APNs JSON payload, e.g. {"aps":{"alert":{...}}}; absent: built from `alert`'),
  })
  .describe('The APNs part: one push per device token');

/** Web Push: what fits in one aes128gcm record of 4096 bytes (RFC 8291). */
export const MAX_WEBPUSH_DATA_BYTES = 3993;

export const fcmPartSchema = z
  .strictObject({
    tokens: z
      .array(z.string().regex(fcmTokenPattern, 'must be an FCM registration token (A-Z a-z 0-9 _ : - .)'))
      .max(MAX_TOKENS, `at most ${MAX_TOKENS} registration tokens per notification`)
      .optional()
      .describe('FCM registration tokens; `to` adds the Android devices of users and interests'),
    notification: z
      .strictObject({
        title: z.string().max(1024).optional(),
        body: z.string().max(4096).optional(),
        image: z.url({ error: 'must be a URL' }).optional(),
      })
      .optional()
      .describe('The notification the system shows; absent: title and body from `alert`'),
    data: z
      .record(z.string().min(1), z.string({ error: 'must be a string: FCM data values are strings' }))
      .superRefine((value, ctx) => {
        for (const key of Object.keys(value)) if (isFcmReservedKey(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'is a key FCM reserves' });
      })
      .optional()
      .describe('Key-value data for the app (string values only)'),
    android: z
      .strictObject({
        priority: z.enum(['HIGH', 'NORMAL'], { error: 'must be HIGH or NORMAL' }).optional(),
        ttl: z.number().int().min(0).max(2_419_200).optional().describe('Seconds FCM keeps it for an offline device (at most 28 days)'),
        collapseKey: z.string().min(1).max(256).optional(),
      })
      .optional(),
  })
  .describe('The FCM part: one message per registration token');

export const webpushPartSchema = z
  .strictObject({
    data: z
      .union([z.string(), z.record(z.string(), z.unknown())], { error: 'must be a string or an object' })
      .optional()
      .describe(`What the service worker reads (a string as is, an object as JSON); absent: {"title","body"} from \`alert\`; at most ${MAX_WEBPUSH_DATA_BYTES} bytes`),
    ttl: z.number().int().min(0).max(2_419_200).optional().describe('Seconds the push service may hold it for an offline browser; 0 = now or never'),
    urgency: z.enum(['very-low', 'low', 'normal', 'high'], { error: 'must be very-low, low, normal or high' }).optional(),
    topic: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1 to 32 base64url characters')
      .optional()
      .describe('Replaces an undelivered message of the same topic'),
  })
  .describe("The Web Push part: sent to the browsers of `to`'s users and interests");

export const realtimePartSchema = z
  .strictObject({
    channels: z
      .array(z.string().min(1).max(200).regex(channelPattern, 'is not a valid channel name'))
      .min(1, 'needs at least one channel')
      .max(MAX_CHANNELS, `at most ${MAX_CHANNELS} channels`)
      .optional()
      .describe('Channels to publish on; may be absent when `to.users` names users (they get it on #server-to-user-{id})'),
    event: z
      .string()
      .min(1)
      .max(200)
      .refine((value) => !value.startsWith('pusher:') && !value.startsWith('pusher_internal:'), 'may not start with pusher: or pusher_internal:'),
    data: z
      .unknown()
      .refine((value) => value !== undefined, 'is required (any JSON value; strings are sent as they are)')
      .describe('Event data: a string is relayed as is, anything else JSON-encoded'),
    socketId: z
      .string()
      .regex(/^\d+\.\d+$/, 'must look like 123.456')
      .optional()
      .describe('This connection does not receive the event'),
  })
  .describe('The realtime part: one Pusher event on each channel');

export const targetsSchema = z
  .strictObject({
    users: z
      .array(z.string().refine(isValidUserId, USER_ID_MESSAGE))
      .max(MAX_USERS, `at most ${MAX_USERS} users per notification`)
      .optional()
      .describe("User ids: each gets the realtime event on #server-to-user-{id} and/or a push on the user's devices, APNs, FCM and Web Push (see deliver)"),
    interests: z
      .array(z.string().regex(interestPattern, INTEREST_MESSAGE))
      .max(MAX_INTERESTS, `at most ${MAX_INTERESTS} interests per notification`)
      .optional()
      .describe('Interests: every device subscribed to one gets a push (APNs, FCM or Web Push)'),
  })
  .describe('Targets resolved to devices when the notification is delivered, not when it is accepted');

export const deliverModes = ['online-first', 'both', 'push'] as const;
export type DeliverMode = (typeof deliverModes)[number];

export const alertSchema = z
  .strictObject({
    title: z.string().max(1024).optional(),
    body: z.string().max(4096).optional(),
  })
  .describe('Platform-neutral title and body: fills aps.alert when apns.payload is absent, the FCM notification and the Web Push data');

export const notificationSchema = z
  .strictObject({
    v: z.literal(1, { error: 'must be 1 (the schema version)' }).describe('Schema version'),
    app: z.string().min(1).max(64).regex(appPattern, 'is not a valid app id').describe('App id; over HTTP it must match the URL'),
    id: z
      .string()
      .min(1)
      .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
      .regex(idPattern, 'may only contain A-Z a-z 0-9 _ - . = @ , ; + ~')
      .refine((value) => !isIntegerString(value), 'must not be an integer (BullMQ job ids cannot be)')
      .optional()
      .describe('Idempotency key and BullMQ jobId; generated when absent'),
    apns: apnsPartSchema.optional(),
    fcm: fcmPartSchema.optional(),
    webpush: webpushPartSchema.optional(),
    realtime: realtimePartSchema.optional(),
    to: targetsSchema.optional(),
    deliver: z
      .enum(deliverModes, { error: `must be one of ${deliverModes.join(', ')}` })
      .optional()
      .describe('For `to.users`: online-first (realtime to online users, APNs to the others), both (default), push (APNs only)'),
    alert: alertSchema.optional(),
    sendAt: z.iso
      .datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-11-23T10:00:00Z' })
      .optional()
      .describe(`Not before this time; at most ${MAX_SEND_AHEAD_DAYS} days ahead`),
  })
  .refine((value) => value.apns !== undefined || value.fcm !== undefined || value.realtime !== undefined || value.to !== undefined, {
    message: 'needs at least one of apns, fcm, realtime, to',
    path: [],
  })
  .describe('Herald notification, version 1');

export type NotificationInput = z.input<typeof notificationSchema>;
/** The APNs part once parsed: tokens normalised (empty when only `to` names devices) and the payload filled from `alert` when absent. */
export type ApnsPart = Omit<z.output<typeof apnsPartSchema>, 'tokens' | 'payload'> & { tokens: string[]; payload: Record<string, unknown> };
/** The FCM part once parsed: tokens without duplicates, the notification filled from `alert` when absent. */
export type FcmPart = Omit<z.output<typeof fcmPartSchema>, 'tokens'> & { tokens: string[] };
/** The Web Push part once parsed: `data` is the text sent (from `alert` when absent). */
export type WebPushPart = Omit<z.output<typeof webpushPartSchema>, 'data'> & { data: string };
export type RealtimePart = z.output<typeof realtimePartSchema>;
export type Targets = z.output<typeof targetsSchema>;
export type Alert = z.output<typeof alertSchema>;

/** A validated, normalised notification: tokens lower-case hex without duplicates, id always set. */
export interface Notification {
  readonly v: 1;
  readonly app: string;
  readonly id: string;
  readonly apns?: ApnsPart;
  readonly fcm?: FcmPart;
  readonly webpush?: WebPushPart;
  readonly realtime?: RealtimePart;
  readonly to?: Targets;
  readonly deliver?: DeliverMode;
  readonly alert?: Alert;
  readonly sendAt?: string;
}

/** A notification's name: ids are per app, so the app is part of it. */
export interface NotificationRef {
  app: string;
  id: string;
}
