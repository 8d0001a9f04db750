import { defaultDeadLetterLimits, matchesFilter } from './dead-letter-store.js';
import type { DeadLetterAdded, DeadLetterFilter, DeadLetterLimits, DeadLetterStore } from './dead-letter-store.js';
import type { DeadLetter } from './webhook-job.js';

interface Stored {
  readonly entry: DeadLetter;
  /** Bytes of the entry's JSON, as the Redis store would hold it. */
  readonly bytes: number;
}

/** The embedded-mode list: it lives in this process and ends with it. */
export class MemoryDeadLetterStore implements DeadLetterStore {
  readonly name = 'webhook-dead-letters';
  private entries: Stored[] = [];
  private bytes = 0;

  constructor(private readonly limits: DeadLetterLimits = defaultDeadLetterLimits) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async add(entry: DeadLetter): Promise<DeadLetterAdded> {
    const stored = { entry: structuredClone(entry), bytes: Buffer.byteLength(JSON.stringify(entry)) };
    this.entries.push(stored);
    this.bytes += stored.bytes;
    let dropped = 0;
    let droppedForBytes = 0;
    while (this.entries.length - dropped > this.limits.maxEntries || (this.bytes > this.limits.maxBytes && dropped < this.entries.length)) {
      if (this.entries.length - dropped <= this.limits.maxEntries) droppedForBytes += 1;
      this.bytes -= (this.entries[dropped] as Stored).bytes;
      dropped += 1;
    }
    if (dropped > 0) this.entries.splice(0, dropped);
    return { dropped, droppedForBytes };
  }

  async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    return this.entries.filter(({ entry }) => matchesFilter(entry, filter)).map(({ entry }) => structuredClone(entry));
  }

  async take(filter: DeadLetterFilter): Promise<DeadLetter[]> {
    const taken = this.entries.filter(({ entry }) => matchesFilter(entry, filter));
    this.entries = this.entries.filter(({ entry }) => !matchesFilter(entry, filter));
    for (const { bytes } of taken) this.bytes -= bytes;
    return taken.map(({ entry }) => entry);
  }

  async size(): Promise<number> {
    return this.entries.length;
  }
}
