import { CANCELLED } from './status.js';
import type { NotificationState } from './status.js';

/**
 * Cancelling in Redis, shared by the daemon's status store and herald/client's Redis mode
 * so both take the same atomic step on the same record (statusKey).
 * KEYS: record. ARGV: error (CANCELLED), now (ms), create ("1": create a missing record),
 * app, createdAt, ttl (seconds, for a created record).
 * queued → failed with that error; an existing record keeps its expiry (the retention
 * beyond its send time), so the id stays known. A missing record is created cancelled
 * only when asked: the caller saw the job still waiting, before any worker made a record
 * (a producer that queued straight into BullMQ leaves none until the job runs).
 * → {1}, or {0, state before ('' when there is no record)}.
 */
export const CANCEL_STATUS_LUA = `
local state = redis.call('hget', KEYS[1], 'state')
if not state and ARGV[3] == '1' then
  redis.call('hset', KEYS[1], 'app', ARGV[4], 'createdAt', ARGV[5], 'tokens', 0, 'chunks', 0,
    'sent', 0, 'failed', 0, 'expired', 0, 'attempts', 1, 'state', 'failed', 'error', ARGV[1], 'finishedAt', ARGV[2])
  redis.call('expire', KEYS[1], ARGV[6])
  return {1}
end
if state ~= 'queued' then return {0, state or ''} end
redis.call('hset', KEYS[1], 'state', 'failed', 'error', ARGV[1], 'finishedAt', ARGV[2])
return {1}
`;

export type CancelResult = { cancelled: true } | { cancelled: false; state: NotificationState | undefined };

/** A missing record is created cancelled (the job was seen waiting): its app, creation time and expiry. */
export interface CreateCancelled {
  app: string;
  createdAt: number;
  ttlSeconds: number;
}

export function cancelArgs(now: number, create?: CreateCancelled): Array<string | number> {
  return create ? [CANCELLED, now, '1', create.app, create.createdAt, Math.max(1, Math.ceil(create.ttlSeconds))] : [CANCELLED, now, '0', '', 0, 1];
}

export function parseCancelReply(reply: unknown): CancelResult {
  const [done, state] = Array.isArray(reply) ? (reply as [unknown, unknown]) : [0, ''];
  if (done === 1) return { cancelled: true };
  return { cancelled: false, state: typeof state === 'string' && state !== '' ? (state as NotificationState) : undefined };
}
