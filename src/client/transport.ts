import type { CancelResult, NotificationStatus, NotifyResult } from './types.js';

/** How the client reaches Herald: its HTTP API, or the BullMQ queue on Redis directly. */
export interface Transport {
  /** Takes a complete v1 notification (v, app and id set). */
  notify(notification: Record<string, unknown>): Promise<NotifyResult>;
  /**
   * Takes complete notifications; all are validated before anything is sent (the first
   * invalid one refuses the call). Answers per notification, in the order given; a later
   * notification with an id already in the call is a duplicate of the first.
   */
  notifyMany(notifications: ReadonlyArray<Record<string, unknown>>): Promise<NotifyResult[]>;
  /** Undefined when the id is unknown or its status has expired. */
  status(id: string): Promise<NotificationStatus | undefined>;
  /** Cancels a notification still queued; refused (with its state) once it started or finished. */
  cancel(id: string): Promise<CancelResult>;
  close(): Promise<void>;
}
