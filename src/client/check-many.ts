import { parseNotification } from '../notifications/contract/parse-notification.js';
import type { Notification } from '../notifications/contract/notification-schema.js';
import { HeraldClientError } from './client-error.js';

/**
 * Validation of a `sendMany` call before anything is sent: every notification passes
 * the checks the HTTP API applies to a body, or the call is refused as a whole with
 * the first invalid one's index and path, and nothing is queued.
 */

/** A valid notification of the call and its position in it. */
export interface CheckedEntry {
  index: number;
  notification: Notification;
}

export interface CheckedMany {
  /** The first notification of each id, in call order. */
  unique: CheckedEntry[];
  /** Per position: the id, and whether an earlier position of the same call has it (then it is a duplicate of that one). */
  entries: Array<{ id: string; repeat: boolean }>;
}

/** Checks complete notifications (`v`, `app` and `id` set), the ids kept as given. */
export function checkMany(notifications: ReadonlyArray<Record<string, unknown>>): CheckedMany {
  const unique: CheckedEntry[] = [];
  const entries: CheckedMany['entries'] = [];
  const seen = new Set<string>();
  notifications.forEach((given, index) => {
    const checked = parseNotification(given);
    if (!checked.ok) throw invalidEntry(index, checked.path, checked.error);
    const n = checked.notification;
    const repeat = seen.has(n.id);
    seen.add(n.id);
    entries.push({ id: n.id, repeat });
    if (!repeat) unique.push({ index, notification: n });
  });
  return { unique, entries };
}

/** `[3].apns.tokens[0]`: a path inside notification `index` of the call. */
export function entryPath(index: number, path: string): string {
  if (path === '') return `[${index}]`;
  return path.startsWith('[') ? `[${index}]${path}` : `[${index}].${path}`;
}

/** The refusal of a whole call for its notification `index`. */
export function invalidEntry(index: number, path: string, error: string): HeraldClientError {
  const where = entryPath(index, path);
  return new HeraldClientError('invalid', `${where}: ${error}`, { path: where, index });
}
