/**
 * Bulk producers of one-token notifications that write straight into Herald's queue on
 * Redis, no HTTP hop: herald/client's `sendMany` (envelope jobs, docs/queue.md
 * "Envelopes"), and BullMQ `Queue.addBulk` of `notify` jobs with job id `n:<app>:<id>`
 * (the shape every build since job ids were namespaced takes). Both send in chunks,
 * one chunk after another, as a producer draining its own backlog would.
 */
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { HeraldClient } from '../../src/client/index.js';
import type { RedisSettings } from '../../src/client/index.js';
import { benchToken } from './apns-tokens.js';
import { epochMs } from './clock.js';
import { BENCH_APP } from './targets.js';

const alert = { title: 'Shipped', body: 'Your order 1234 is on its way' };

export interface BulkProducer {
  /** Notifications `firstToken` … `firstToken + count − 1`, one token each, in chunks of `chunk`. */
  submit(firstToken: number, count: number, chunk: number): Promise<void>;
  close(): Promise<void>;
}

/** Notification `i` (id `t<i>`, token `i`); `t` in the payload is the moment its chunk was handed over. */
function notification(i: number, t: number): { v: 1; app: string; id: string; apns: { tokens: string[]; payload: Record<string, unknown> } } {
  return { v: 1, app: BENCH_APP.id, id: `t${i}`, apns: { tokens: [benchToken(i)], payload: { aps: { alert }, t } } };
}

async function inChunks(firstToken: number, count: number, chunk: number, send: (from: number, to: number) => Promise<void>): Promise<void> {
  for (let from = firstToken; from < firstToken + count; from += chunk) await send(from, Math.min(from + chunk, firstToken + count));
}

/** herald/client over Redis: `sendMany` writes one envelope job per partition per call. */
export function sendManyProducer(options: { redis: string | RedisSettings; prefix: string; keyPrefix: string; partitions?: number; chunkSize: number }): BulkProducer {
  const client = new HeraldClient({ app: BENCH_APP.id, ...options });
  return {
    submit: (firstToken, count, chunk) =>
      inChunks(firstToken, count, chunk, async (from, to) => {
        const t = epochMs();
        const results = await client.sendMany(Array.from({ length: to - from }, (_, k) => notification(from + k, t)));
        const duplicate = results.find((r) => r.duplicate);
        if (duplicate) throw new Error(`sendMany answered ${duplicate.id} duplicate: ids must be fresh in every run`);
      }),
    close: () => client.close(),
  };
}

/** BullMQ `addBulk` of `notify` jobs on queue `notifications`, job ids `n:<app>:<id>`. */
export function addBulkProducer(options: { url: string; prefix: string }): BulkProducer {
  const connection = new Redis(options.url, { maxRetriesPerRequest: null });
  const queue = new Queue('notifications', { connection, prefix: options.prefix });
  return {
    submit: (firstToken, count, chunk) =>
      inChunks(firstToken, count, chunk, async (from, to) => {
        const t = epochMs();
        await queue.addBulk(
          Array.from({ length: to - from }, (_, k) => {
            const data = notification(from + k, t);
            return { name: 'notify', data, opts: { jobId: `n:${data.app}:${data.id}` } };
          }),
        );
      }),
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}
