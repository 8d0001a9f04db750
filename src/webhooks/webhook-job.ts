import { z } from 'zod';
import type { ParseResult } from '../queue/queue-driver.js';

/**
 * One batch for one webhook target, signed once when the batch closed, so every
 * retry and a replay from the dead-letter list send the same bytes with the same
 * signature. The app's custom headers are not stored (they may carry credentials):
 * they are looked up from the configuration at delivery time.
 */
export interface WebhookJob {
  v: 1;
  app: string;
  url: string;
  /** The raw JSON body `{"time_ms":…,"events":[…]}`. */
  body: string;
  /** X-Pusher-Key at signing time. */
  key: string;
  /** X-Pusher-Signature: hex HMAC-SHA256 of `body` with the app secret. */
  signature: string;
  /** Milliseconds since the epoch when the batch was signed. */
  createdAt: number;
  /** The event names in the body, so listings need not parse it. */
  events: string[];
}

export const webhookJobSchema = z.strictObject({
  v: z.literal(1),
  app: z.string().min(1).max(64),
  url: z.url({ protocol: /^https?$/ }),
  body: z.string().min(1),
  key: z.string().min(1),
  signature: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.number().int().nonnegative(),
  events: z.array(z.string()),
});

/** A batch whose last attempt failed, kept until it is replayed. */
export interface DeadLetter {
  id: string;
  job: WebhookJob;
  attempts: number;
  lastError: string;
  /** Milliseconds since the epoch of the last failed attempt. */
  failedAt: number;
}

export const deadLetterSchema = z.strictObject({
  id: z.string().min(1),
  job: webhookJobSchema,
  attempts: z.number().int().nonnegative(),
  lastError: z.string(),
  failedAt: z.number().int().nonnegative(),
});

/** Validates data read back from the queue (another program may have written it), or says what is wrong. */
export function parseWebhookJob(data: unknown): ParseResult<WebhookJob> {
  const parsed = webhookJobSchema.safeParse(data);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, error: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid webhook job' };
}
