import type { NotificationRef } from './notification-schema.js';

/**
 * Where a notification's queue jobs and status keys live when the queue is cut into
 * `queue.partitions` partitions (docs/queue.md "Partitions"). Every key of one partition
 * shares one Redis Cluster hash tag, so one script may touch many notifications of it;
 * the tags are chosen at evenly spaced slots, so a Cluster whose masters own even ranges
 * gets each partition on its own shard (when partitions are a multiple of the masters).
 * Producers (the daemon's intake, herald/client) and consumers compute the same.
 */

const SLOTS = 16_384;

/** CRC16-CCITT (XMODEM), the hash Redis Cluster uses for key slots. */
function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Redis Cluster slot of a hash tag's content. */
export function tagSlot(tag: string): number {
  return crc16(tag) % SLOTS;
}

/** The partition of one app's notification: the same for every producer and consumer. */
export function partitionOf(ref: NotificationRef, partitions: number): number {
  return partitions <= 1 ? 0 : crc16(`${ref.app}:${ref.id}`) % partitions;
}

/** The hash tag content of `prefix` (`{herald}` → `herald`), or the whole prefix when it has none. */
function baseTag(prefix: string): { tag: string; tagged: boolean } {
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1 ? { tag: prefix.slice(open + 1, close), tagged: true } : { tag: prefix, tagged: false };
}

const tagCache = new Map<string, string>();

/**
 * The hash tag of partition `partition` of `partitions` under the queue prefix. Partition 0
 * keeps the prefix's own tag (where producers that know nothing of partitions add jobs);
 * partition k lies k/partitions of the slot ring further on.
 */
export function partitionTag(prefix: string, partition: number, partitions: number): string {
  const { tag } = baseTag(prefix);
  if (partition === 0) return tag;
  const cacheKey = `${tag}\u0000${partition}\u0000${partitions}`;
  const cached = tagCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const width = SLOTS / partitions;
  // Exactly k widths on from partition 0's slot, within a sixteenth of a width: a Cluster whose
  // masters own even ranges then holds partition k as far into its master's range as partition
  // 0 is into its own, so each lands on its own master.
  const from = Math.round(tagSlot(tag) + partition * width) % SLOTS;
  const near = Math.max(1, Math.floor(width / 16));
  let found = `${tag}-${partition}`;
  for (let i = 0; i < 1_000_000; i += 1) {
    const candidate = `${tag}-${partition}.${i}`;
    if ((tagSlot(candidate) - from + SLOTS) % SLOTS < near) {
      found = candidate;
      break;
    }
  }
  tagCache.set(cacheKey, found);
  return found;
}

/** The BullMQ prefix of a partition's queues: the configured prefix, its tag swapped for the partition's. */
export function partitionPrefix(prefix: string, partition: number, partitions: number): string {
  if (partition === 0) return prefix;
  const { tag, tagged } = baseTag(prefix);
  const own = partitionTag(prefix, partition, partitions);
  return tagged ? prefix.replace(`{${tag}}`, `{${own}}`) : `${prefix}-${partition}`;
}
