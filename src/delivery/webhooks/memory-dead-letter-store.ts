import { MAX_DEAD_LETTERS, matchesFilter } from './dead-letter-store.js';
import type { DeadLetterFilter, DeadLetterStore } from './dead-letter-store.js';
import type { DeadLetter } from './webhook-job.js';

/** The embedded-mode list: it lives in this process and ends with it. */
export class MemoryDeadLetterStore implements DeadLetterStore {
  readonly name = 'webhook-dead-letters';
  private entries: DeadLetter[] = [];

  constructor(private readonly max = MAX_DEAD_LETTERS) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async add(entry: DeadLetter): Promise<{ dropped: number }> {
    this.entries.push(structuredClone(entry));
    const dropped = Math.max(0, this.entries.length - this.max);
    if (dropped > 0) this.entries.splice(0, dropped);
    return { dropped };
  }

  async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    return this.entries.filter((entry) => matchesFilter(entry, filter)).map((entry) => structuredClone(entry));
  }

  async take(filter: DeadLetterFilter): Promise<DeadLetter[]> {
    const taken = this.entries.filter((entry) => matchesFilter(entry, filter));
    this.entries = this.entries.filter((entry) => !matchesFilter(entry, filter));
    return taken;
  }

  async size(): Promise<number> {
    return this.entries.length;
  }
}
