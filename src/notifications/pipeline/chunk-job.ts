import { z } from 'zod';
import type { ParseResult } from '../../queue/queue-driver.js';
import { apnsPartSchema } from '../contract/notification-schema.js';
import { formatPath } from '../../lib/format-path.js';

export const CHUNK_QUEUE = 'notification-chunks';
export const CHUNK_JOB = 'chunk';

/**
 * One slice of a notification's device tokens: the unit of APNs work. A notify job
 * is cut into these so several workers (and processes) share a large notification,
 * while progress is checkpointed per token, not per chunk.
 */
export const chunkJobSchema = z.strictObject({
  v: z.literal(1),
  notification: z.string().min(1),
  app: z.string().min(1),
  /** When the notification was accepted (ms), for the enqueue→first-send latency. */
  createdAt: z.number().int().nonnegative(),
  chunk: z.number().int().nonnegative(),
  /** Index of `tokens[0]` in the notification's normalised token list. */
  from: z.number().int().nonnegative(),
  tokens: z.array(z.string().regex(/^[0-9a-f]+$/)).min(1),
  // The payload as parsing filled it (from `alert` when the producer gave none).
  apns: apnsPartSchema.omit({ tokens: true }).required({ payload: true }),
});

export type ChunkJob = z.output<typeof chunkJobSchema>;

export function parseChunkJob(data: unknown): ParseResult<ChunkJob> {
  const parsed = chunkJobSchema.safeParse(data);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, error: issue ? `${formatPath(issue.path) || 'data'}: ${issue.message}` : 'invalid chunk job' };
}
