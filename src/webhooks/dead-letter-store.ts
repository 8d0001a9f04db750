import type { Service } from '../lib/service.js';
import type { DeadLetter } from './webhook-job.js';

export interface DeadLetterFilter {
  app?: string | undefined;
  /** Only these entries; all matching entries when absent. */
  ids?: readonly string[] | undefined;
}

/**
 * Where webhook batches go after their last failed attempt. The memory store lives
 * in the running process (embedded mode); the Redis store is shared by every
 * process on that Redis and by the CLI. As a Service it is started before and
 * stopped after the webhook queue, whose last attempts write to it.
 */
export interface DeadLetterStore extends Service {
  /**
   * Adds an entry; returns how many of the oldest entries were dropped to stay within
   * the caps, and how many of those for bytes. An entry larger than the byte cap on
   * its own is dropped too, after every older one.
   */
  add(entry: DeadLetter): Promise<DeadLetterAdded>;
  list(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  /** Removes and returns the matching entries; with concurrent callers each entry goes to exactly one. */
  take(filter: DeadLetterFilter): Promise<DeadLetter[]>;
  size(): Promise<number>;
}

export interface DeadLetterAdded {
  readonly dropped: number;
  /** Of `dropped`, those dropped because the list was over `maxBytes` (the rest: over `maxEntries`). */
  readonly droppedForBytes: number;
}

/** Enough to keep a long outage's worth of batches without letting one bad endpoint eat memory. */
export const MAX_DEAD_LETTERS = 10_000;
/** A batch body can reach megabytes (500 client events), so the count alone does not bound memory. */
export const MAX_DEAD_LETTER_BYTES = 32 * 1024 * 1024;

/** Caps of the list; bytes are those of each entry's JSON as stored. */
export interface DeadLetterLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

export const defaultDeadLetterLimits: DeadLetterLimits = Object.freeze({ maxEntries: MAX_DEAD_LETTERS, maxBytes: MAX_DEAD_LETTER_BYTES });

export function matchesFilter(entry: DeadLetter, filter: DeadLetterFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.app !== undefined && entry.job.app !== filter.app) return false;
  if (filter.ids !== undefined && !filter.ids.includes(entry.id)) return false;
  return true;
}
