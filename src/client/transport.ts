import type { CancelResult, NotificationStatus, NotifyResult } from './types.js';

/** How the client reaches Herald: its HTTP API, or the BullMQ queue on Redis directly. */
export interface Transport {
  /** Takes a complete v1 notification (v, app and id set). */
  notify(notification: Record<string, unknown>): Promise<NotifyResult>;
  /** Undefined when the id is unknown or its status has expired. */
  status(id: string): Promise<NotificationStatus | undefined>;
  /** Cancels a notification still queued; refused (with its state) once it started or finished. */
  cancel(id: string): Promise<CancelResult>;
  close(): Promise<void>;
}
