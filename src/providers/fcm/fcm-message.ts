/**
 * A batch's FCM message, checked once before anything is sent, and the request body for
 * each token: the message is serialized once and the token spliced in, so a batch of
 * 100,000 tokens costs one JSON.stringify of the message.
 */
import { z } from 'zod';
import { formatPath } from '../../lib/format-path.js';
import type { FcmMessageFields, PushBatch } from '../provider.js';
import { fcmTokenPattern, isFcmReservedKey } from '../../lib/fcm-rules.js';

/** FCM's limit on a message's payload. */
export const MAX_MESSAGE_BYTES = 4096;
const dataMap = z.record(z.string().min(1).refine((key) => !isFcmReservedKey(key), 'is a key FCM reserves'), z.string({ error: 'must be a string: FCM data values are strings' }));

const fieldsSchema = z.strictObject({
  notification: z.strictObject({ title: z.string().optional(), body: z.string().optional(), image: z.url().optional() }).optional(),
  data: dataMap.optional(),
  android: z
    .strictObject({
      priority: z.enum(['NORMAL', 'HIGH']).optional(),
      ttl: z.string().regex(/^\d{1,9}(\.\d{1,9})?s$/, 'must be seconds with an s suffix, such as "3600s"').optional(),
      collapse_key: z.string().min(1).max(256).optional(),
      restricted_package_name: z.string().min(1).optional(),
      direct_boot_ok: z.boolean().optional(),
      notification: z.record(z.string(), z.unknown()).optional(),
      data: dataMap.optional(),
    })
    .optional(),
  fcm_options: z.strictObject({ analytics_label: z.string().regex(/^[a-zA-Z0-9-_.~%]{1,50}$/).optional() }).optional(),
});

export interface PreparedFcmMessage {
  /** The request body for one token. */
  bodyFor(token: string): Buffer;
}

export type FcmMessageCheck = { ok: true; message: PreparedFcmMessage } | { ok: false; reason: 'InvalidMessage' | 'MessageTooBig'; detail: string };

/** Checks `batch.fcm` and fills the android fields it leaves unset from the neutral ones. */
export function prepareFcmMessage(batch: PushBatch, now: number = Date.now()): FcmMessageCheck {
  const parsed = fieldsSchema.safeParse(batch.fcm ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: 'InvalidMessage', detail: issue ? `fcm.${formatPath(issue.path)}: ${issue.message}` : 'fcm: invalid' };
  }
  const fields: FcmMessageFields = parsed.data as FcmMessageFields;
  const android = Object.assign({}, fields.android);
  if (android.priority === undefined && batch.priority !== undefined) android.priority = batch.priority >= 10 ? 'HIGH' : 'NORMAL';
  if (android.ttl === undefined && batch.expiration !== undefined) android.ttl = `${batch.expiration === 0 ? 0 : Math.max(0, batch.expiration - Math.floor(now / 1000))}s`;
  if (android.collapse_key === undefined && batch.collapseId !== undefined) android.collapse_key = batch.collapseId;
  const message = Object.assign({}, fields, Object.keys(android).length > 0 ? { android } : {});
  const rest = JSON.stringify(message).slice(1, -1);
  if (Buffer.byteLength(rest) > MAX_MESSAGE_BYTES) return { ok: false, reason: 'MessageTooBig', detail: `the message is ${Buffer.byteLength(rest)} bytes; FCM takes at most ${MAX_MESSAGE_BYTES}` };
  const tail = rest === '' ? '}}' : `,${rest}}}`;
  return { ok: true, message: { bodyFor: (token) => Buffer.from(`{"message":{"token":${JSON.stringify(token)}${tail}`) } };
}

export function isRegistrationToken(token: string): boolean {
  return fcmTokenPattern.test(token);
}
