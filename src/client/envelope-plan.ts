import { MAX_ENVELOPE_NOTIFICATIONS, MAX_SHARED_TOKENS, singleEnvelopeJobId } from '../notifications/contract/envelope.js';
import { partitionOf } from '../notifications/contract/partitions.js';
import type { CheckedEntry } from './check-many.js';

/**
 * How `sendMany` cuts its notifications into envelope jobs (contract/envelope.ts), by the
 * daemon's own rules (docs/queue.md "Envelopes, group commit and partitions"): by
 * partition, because an envelope lives in its partition's queue and its records share
 * that partition's hash tag; a notification with a future `sendAt` or with many device
 * tokens travels alone, in envelope `e:<app>:<id>` (a repeat is the same job, a cancel
 * removes it); the others share envelopes of at most MAX_ENVELOPE_NOTIFICATIONS and
 * MAX_ENVELOPE_BYTES of JSON, so no single job write grows without bound.
 */

/** The JSON of a shared envelope's notifications stays below this (one notification larger than it goes alone). */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

export interface PlannedEnvelope {
  partition: number;
  /** The job id of a notification that travels alone; a shared envelope gets a fresh one when written. */
  jobId?: string;
  /** The envelope job's delay: until the notification's `sendAt`, 0 when due. */
  delayMs: number;
  /** `sendAt` in ms, 0 when none or due. */
  notBefore: number;
  entries: CheckedEntry[];
}

export interface PlanOptions {
  partitions: number;
  now: number;
  maxNotifications?: number;
  maxBytes?: number;
}

export function planEnvelopes(entries: readonly CheckedEntry[], o: PlanOptions): PlannedEnvelope[] {
  const maxNotifications = Math.min(o.maxNotifications ?? MAX_ENVELOPE_NOTIFICATIONS, MAX_ENVELOPE_NOTIFICATIONS);
  const maxBytes = o.maxBytes ?? MAX_ENVELOPE_BYTES;
  // The open shared envelope per partition; a full one is closed and a new one opened.
  const open = new Map<number, { envelope: PlannedEnvelope; bytes: number }>();
  const planned: PlannedEnvelope[] = [];
  for (const entry of entries) {
    const n = entry.notification;
    const partition = partitionOf(n, o.partitions);
    const sendAt = n.sendAt === undefined ? 0 : Date.parse(n.sendAt);
    if (sendAt > o.now || (n.apns?.tokens.length ?? 0) > MAX_SHARED_TOKENS) {
      const notBefore = sendAt > o.now ? sendAt : 0;
      planned.push({ partition, jobId: singleEnvelopeJobId(n), delayMs: notBefore === 0 ? 0 : notBefore - o.now, notBefore, entries: [entry] });
      continue;
    }
    // The comma between entries counts too.
    const bytes = Buffer.byteLength(JSON.stringify(n)) + 1;
    let current = open.get(partition);
    if (current && (current.envelope.entries.length >= maxNotifications || current.bytes + bytes > maxBytes)) current = undefined;
    if (!current) {
      current = { envelope: { partition, delayMs: 0, notBefore: 0, entries: [] }, bytes: 0 };
      open.set(partition, current);
      planned.push(current.envelope);
    }
    current.envelope.entries.push(entry);
    current.bytes += bytes;
  }
  return planned;
}
