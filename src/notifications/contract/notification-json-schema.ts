import { z } from 'zod';
import { notificationSchema } from './notification-schema.js';

/**
 * The published JSON Schema of notification v1 (schema/notification.schema.json),
 * generated from the zod schema so the two cannot drift. It describes the input
 * producers send; normalisation (token clean-up, duplicates) is Herald's business.
 */
export function notificationJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(notificationSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  // zod's object-level refine (apns, fcm, realtime or to) has no JSON Schema form of its own.
  return { title: 'Herald notification v1', ...generated, anyOf: [{ required: ['apns'] }, { required: ['fcm'] }, { required: ['realtime'] }, { required: ['to'] }] };
}

/** The file's exact text: two-space JSON and a final newline. */
export function notificationJsonSchemaText(): string {
  return `${JSON.stringify(notificationJsonSchema(), null, 2)}\n`;
}
