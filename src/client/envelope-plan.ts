import { MAX_ENVELOPE_NOTIFICATIONS } from '../notifications/contract/envelope.js';
import { partitionOf } from '../notifications/contract/partitions.js';
import type { CheckedEntry } from './check-many.js';

/**
 * How `sendMany` cuts its notifications into envelope jobs (contract/envelope.ts): by
 * partition, because an envelope lives in its partition's queue and its records share
 * that partition's hash tag; by send time, because an envelope waits as a whole; and
 * into pieces of at most MAX_ENVELOPE_NOTIFICATIONS and MAX_ENVELOPE_BYTES of JSON,
 * so no single job write grows without bound.
 */

/** The JSON of an envelope's notifications stays below this (one notification larger than it travels alone). */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

export interface PlannedEnvelope {
  partition: number;
  /** The envelope job's delay: until the notifications' `sendAt`, 0 when due. */
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
  // Open envelope per (partition, send time); a full one is closed and a new one opened.
  const open = new Map<string, { envelope: PlannedEnvelope; bytes: number }>();
  const planned: PlannedEnvelope[] = [];
  for (const entry of entries) {
    const n = entry.notification;
    const partition = partitionOf(n, o.partitions);
    const sendAt = n.sendAt === undefined ? 0 : Date.parse(n.sendAt);
    const notBefore = sendAt > o.now ? sendAt : 0;
    const key = `${partition}:${notBefore}`;
    // The comma between entries counts too.
    const bytes = Buffer.byteLength(JSON.stringify(n)) + 1;
    let current = open.get(key);
    if (current && (current.envelope.entries.length >= maxNotifications || current.bytes + bytes > maxBytes)) current = undefined;
    if (!current) {
      current = { envelope: { partition, delayMs: notBefore === 0 ? 0 : notBefore - o.now, notBefore, entries: [] }, bytes: 0 };
      open.set(key, current);
      planned.push(current.envelope);
    }
    current.envelope.entries.push(entry);
    current.bytes += bytes;
  }
  return planned;
}
