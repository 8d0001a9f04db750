import type { Cluster, Redis } from 'ioredis';
import { whenReady } from '../redis/redis-client.js';
import { defaultDeadLetterLimits, matchesFilter } from './dead-letter-store.js';
import type { DeadLetterAdded, DeadLetterFilter, DeadLetterLimits, DeadLetterStore } from './dead-letter-store.js';
import { deadLetterSchema } from './webhook-job.js';
import type { DeadLetter } from './webhook-job.js';

/** The Redis key of the list, under the queue prefix so one `{herald}` prefix keeps it in one Cluster slot. */
export function deadLetterKey(prefix: string): string {
  return `${prefix}:webhooks:dead-letters`;
}

/**
 * Appends an entry and drops the oldest while the list is over its entry or byte cap,
 * keeping a running byte total beside the list (rebuilt from the list when missing,
 * e.g. a list written by an older version). Returns {dropped for count, for bytes}.
 */
const ADD_SCRIPT = `
local total = tonumber(redis.call('GET', KEYS[2]) or '')
local len = redis.call('LLEN', KEYS[1])
if len == 0 then
  total = 0
elseif total == nil then
  total = 0
  for _, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do total = total + string.len(raw) end
end
len = redis.call('RPUSH', KEYS[1], ARGV[1])
total = total + string.len(ARGV[1])
local maxEntries, maxBytes = tonumber(ARGV[2]), tonumber(ARGV[3])
local forCount, forBytes = 0, 0
while len > maxEntries or (total > maxBytes and len > 0) do
  if len > maxEntries then forCount = forCount + 1 else forBytes = forBytes + 1 end
  total = total - string.len(redis.call('LPOP', KEYS[1]))
  len = len - 1
end
if len == 0 then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], total) end
return {forCount, forBytes}
`;

/** Removes one exact entry and takes its bytes off the running total. */
const TAKE_SCRIPT = `
local removed = redis.call('LREM', KEYS[1], 1, ARGV[1])
if removed == 1 and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECRBY', KEYS[2], string.len(ARGV[1])) end
return removed
`;

/**
 * A Redis list of JSON entries, oldest first. `take` claims each entry with LREM of
 * its exact bytes, so two replays running at once never both get the same entry.
 * It owns the connection it is given and closes it at stop.
 */
export class RedisDeadLetterStore implements DeadLetterStore {
  readonly name = 'webhook-dead-letters';
  private readonly key: string;
  /** The running byte total of the list; same prefix, so one Cluster slot with it. */
  private readonly bytesKey: string;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
    private readonly limits: DeadLetterLimits = defaultDeadLetterLimits,
  ) {
    this.key = deadLetterKey(prefix);
    this.bytesKey = `${this.key}:bytes`;
  }

  /** Resolves once the connection is up: a command connection fails commands at once while it is not. */
  async start(): Promise<void> {
    await whenReady(this.redis, AbortSignal.timeout(30_000));
  }

  async stop(_deadline: AbortSignal): Promise<void> {
    this.redis.disconnect();
  }

  async add(entry: DeadLetter): Promise<DeadLetterAdded> {
    const [forCount, forBytes] = (await this.redis.eval(ADD_SCRIPT, 2, this.key, this.bytesKey, JSON.stringify(entry), this.limits.maxEntries, this.limits.maxBytes)) as [number, number];
    return { dropped: forCount + forBytes, droppedForBytes: forBytes };
  }

  async list(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    return (await this.readAll()).filter(({ entry }) => matchesFilter(entry, filter)).map(({ entry }) => entry);
  }

  async take(filter: DeadLetterFilter): Promise<DeadLetter[]> {
    const taken: DeadLetter[] = [];
    for (const { raw, entry } of await this.readAll()) {
      if (!matchesFilter(entry, filter)) continue;
      if ((await this.redis.eval(TAKE_SCRIPT, 2, this.key, this.bytesKey, raw)) === 1) taken.push(entry);
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
