import { z } from 'zod';
import type { ParseResult } from '../../queue/queue-driver.js';
import { fcmTokenPattern } from '../../lib/fcm-rules.js';
import { apnsPartSchema, fcmPartSchema, webpushPartSchema } from '../contract/notification-schema.js';
import { formatPath } from '../../lib/format-path.js';

export const CHUNK_QUEUE = 'notification-chunks';
export const CHUNK_JOB = 'chunk';

/** What a token of each platform looks like once normalised (the registry's canonical forms). */
const tokenPatterns = {
  apns: /^[0-9a-f]+$/,
  fcm: fcmTokenPattern,
  web: /^[A-Za-z0-9_\-.]{1,4096}$/,
} as const;

const subscriptionSchema = z.strictObject({
  endpoint: z.string().min(1),
  keys: z.strictObject({ p256dh: z.string().min(1), auth: z.string().min(1) }),
});

/**
 * One slice of a notification's device tokens, all of one platform: the unit of push
 * work. A notify job is cut into these so several workers (and processes) share a large
 * notification, while progress is checkpointed per token, not per chunk.
 */
export const chunkJobSchema = z
  .strictObject({
    v: z.literal(1),
    notification: z.string().min(1),
    app: z.string().min(1),
    /** When the notification was accepted (ms), for the enqueue→first-send latency. */
    createdAt: z.number().int().nonnegative(),
    chunk: z.number().int().nonnegative(),
    /** Index of `tokens[0]` in the notification's normalised token list. */
    from: z.number().int().nonnegative(),
    /** Absent (jobs queued before FCM and Web Push): APNs. */
    platform: z.enum(['apns', 'fcm', 'web']).optional(),
    tokens: z.array(z.string()).min(1),
    // The payload as parsing filled it (from `alert` when the producer gave none).
    apns: apnsPartSchema.omit({ tokens: true }).required({ payload: true }).optional(),
    fcm: fcmPartSchema.omit({ tokens: true }).optional(),
    /** The Web Push message and the subscription behind each of `tokens`, as resolved. */
    webpush: webpushPartSchema.extend({ data: z.string(), subscriptions: z.record(z.string(), subscriptionSchema) }).optional(),
  })
  .superRefine((job, ctx) => {
    const platform = job.platform ?? 'apns';
    const pattern = tokenPatterns[platform];
    job.tokens.forEach((token, index) => {
      if (!pattern.test(token)) ctx.addIssue({ code: 'custom', path: ['tokens', index], message: `is not a ${platform} token` });
    });
    const part = platform === 'apns' ? 'apns' : platform === 'fcm' ? 'fcm' : 'webpush';
    if (job[part] === undefined) ctx.addIssue({ code: 'custom', path: [part], message: `is required for a ${platform} chunk` });
  });

export type ChunkJob = z.output<typeof chunkJobSchema>;

export function parseChunkJob(data: unknown): ParseResult<ChunkJob> {
  const parsed = chunkJobSchema.safeParse(data);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, error: issue ? `${formatPath(issue.path) || 'data'}: ${issue.message}` : 'invalid chunk job' };
}
