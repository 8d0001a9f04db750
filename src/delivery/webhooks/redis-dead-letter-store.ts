import type { Cluster, Redis } from 'ioredis';
import { whenReady } from '../../redis/redis-client.js';
import { MAX_DEAD_LETTERS, matchesFilter } from './dead-letter-store.js';
import type { DeadLetterFilter, DeadLetterStore } from './dead-letter-store.js';
import { deadLetterSchema } from './webhook-job.js';
import type { DeadLetter } from './webhook-job.js';

/** The Redis key of the list, under the queue prefix so one `{herald}` prefix keeps it in one Cluster slot. */
export function deadLetterKey(prefix: string): string {
  return `${prefix}:webhooks:dead-letters`;
}

/**
 * A Redis list of JSON entries, oldest first. `take` claims each entry with LREM of
 * its exact bytes, so two replays running at once never both get the same entry.
 * It owns the connection it is given and closes it at stop.
 */
export class RedisDeadLetterStore implements DeadLetterStore {
  readonly name = 'webhook-dead-letters';
  private readonly key: string;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
    private readonly max = MAX_DEAD_LETTERS,
  ) {
    this.key = deadLetterKey(prefix);
  }

  /** Resolves once the connection is up: a command connection fails commands at once while it is not. */
  async start(): Promise<void> {
    await whenReady(this.redis, AbortSignal.timeout(30_000));
  }

  async stop(_deadline: AbortSignal): Promise<void> {
    this.redis.disconnect();
  }

  async add(entry: DeadLetter): Promise<{ dropped: number }> {
    const length = await this.redis.rpush(this.key, JSON.stringify(entry));
    const dropped = Math.max(0, length - this.max);
    if (dropped > 0) await this.redis.ltrim(this.key, -this.max, -1);
    return { dropped };
  }

  async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    return (await this.readAll()).filter(({ entry }) => matchesFilter(entry, filter)).map(({ entry }) => entry);
  }

  async take(filter: DeadLetterFilter): Promise<DeadLetter[]> {
    const taken: DeadLetter[] = [];
    for (const { raw, entry } of await this.readAll()) {
      if (!matchesFilter(entry, filter)) continue;
      if ((await this.redis.lrem(this.key, 1, raw)) === 1) taken.push(entry);
    }
    return taken;
  }

  async size(): Promise<number> {
    return this.redis.llen(this.key);
  }

  /** Entries another program wrote in a shape this version does not know are left in place, unlisted. */
  private async readAll(): Promise<Array<{ raw: string; entry: DeadLetter }>> {
    const raws = await this.redis.lrange(this.key, 0, -1);
    return raws.flatMap((raw) => {
      try {
        const parsed = deadLetterSchema.safeParse(JSON.parse(raw));
        return parsed.success ? [{ raw, entry: parsed.data }] : [];
      } catch {
        return [];
      }
    });
  }
}
