import type { Service } from '../lib/service.js';

/** What a worker is handed: the notification id and its validated data, plus how often it was tried. */
export interface QueueJob<T> {
  id: string;
  data: T;
  attempt: number;
}

export type JobHandler<T> = (job: QueueJob<T>, signal: AbortSignal) => Promise<JobResult>;

export type JobResult = { type: 'done' } | { type: 'retry'; afterMs: number; reason: string } | { type: 'failed'; reason: string };

/** Memory (embedded default) and BullMQ implement this with the same semantics. */
export interface QueueDriver<T> extends Service {
  /** Idempotent by id: a second enqueue of the same id returns duplicate and schedules nothing. */
  enqueue(id: string, data: T, options?: { delayMs?: number }): Promise<{ id: string; duplicate: boolean }>;
  consume(handler: JobHandler<T>, options: { concurrency: number }): void;
}
