import { notificationStatusSchema } from '../notifications/contract/status.js';
import type { NotificationStatus } from './types.js';

/** Validates a status answer against the contract's schema. */
export function parseNotificationStatus(data: unknown): NotificationStatus | undefined {
  const parsed = notificationStatusSchema.safeParse(data);
  return parsed.success ? (parsed.data as NotificationStatus) : undefined;
}
