import { z } from 'zod';
import type { NotificationStatus } from './types.js';

const count = z.number().int().nonnegative();

/** Validates a status answer; unknown extra fields are kept, so a newer daemon never breaks an older client. */
export const notificationStatusSchema = z.looseObject({
  id: z.string(),
  state: z.enum(['queued', 'active', 'completed', 'failed']),
  createdAt: z.string(),
  attempts: count,
  apns: z.looseObject({
    sent: count,
    failed: count,
    pending: count,
    invalidTokens: z.array(z.looseObject({ token: z.string(), reason: z.string(), timestamp: z.number().optional() })),
  }),
  realtime: z.looseObject({ channels: count }),
});

export function parseNotificationStatus(data: unknown): NotificationStatus | undefined {
  const parsed = notificationStatusSchema.safeParse(data);
  return parsed.success ? (parsed.data as NotificationStatus) : undefined;
}
