import { redactUrl } from '../config/redact.js';
import type { DeadLetterFilter } from './dead-letter-store.js';
import type { DeadLetter } from './webhook-job.js';

export interface DeadLetterAccess {
  listDeadLetters(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  replayDeadLetters(filter: DeadLetterFilter): Promise<DeadLetter[]>;
}

/** What the HTTP API and the CLI show of a dead letter: never the signature nor the URL's credentials. */
export interface DeadLetterView {
  id: string;
  /** Redacted as the config is printed: user kept, password, path and query masked (they may hold tokens). */
  url: string;
  events: string[];
  attempts: number;
  lastError: string;
  failedAt: string;
  createdAt: string;
  body: string;
}

export function viewOf(entry: DeadLetter): DeadLetterView {
  return {
    id: entry.id,
    url: redactUrl(entry.job.url),
    events: entry.job.events,
    attempts: entry.attempts,
    lastError: entry.lastError,
    failedAt: new Date(entry.failedAt).toISOString(),
    createdAt: new Date(entry.job.createdAt).toISOString(),
    body: entry.job.body,
  };
}
