import type { NotificationState } from './status.js';

/**
 * Creating status records in Redis, shared by the daemon's status store and herald/client's
 * Redis mode, so both create a record the same way (statusKey).
 *
 * A record names its `owner`: the queue job that delivers it. A job that finds the record
 * owned by another job while it is still queued or active leaves the notification alone
 * (that job sends it), so the same id queued twice — a producer's retry that reached a
 * second envelope — is delivered once.
 */
export const CREATE_RECORD_LUA = `
local function createRecord(key, app, createdAt, tokens, chunks, ttl, owner, start)
  local cur = redis.call('hmget', key, 'state', 'owner', 'app')
  if cur[1] or cur[3] then
    local state, holder = cur[1] or 'queued', cur[2]
    if holder and holder ~= '' and owner ~= '' and holder ~= owner and (state == 'queued' or state == 'active') then
      return {0, state, holder}
    end
    -- The worker that starts it counts its tokens and chunks itself (the producer's figures may use another chunk size).
    if start and state == 'queued' then redis.call('hset', key, 'state', 'active', 'tokens', tokens, 'chunks', chunks) end
    return {0, state, holder or ''}
  end
  redis.call('hset', key, 'app', app, 'createdAt', createdAt, 'tokens', tokens, 'chunks', chunks,
    'state', start and 'active' or 'queued', 'sent', 0, 'failed', 0, 'expired', 0, 'attempts', 1, 'owner', owner)
  redis.call('expire', key, ttl)
  return {1, start and 'active' or 'queued', owner}
end
`;

/** KEYS: records. ARGV: per record app, createdAt, tokens, chunks, ttl, owner, start ("1"). → per record {created, state, owner}. */
export const CREATE_RECORDS_LUA = `${CREATE_RECORD_LUA}
local replies = {}
for i = 1, #KEYS do
  local a = (i - 1) * 7
  replies[i] = createRecord(KEYS[i], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7] == '1')
end
return replies
`;

/** What is known of a notification when its record is made. */
export interface RecordPlan {
  app: string;
  createdAt: number;
  tokens: number;
  chunks: number;
  ttlSeconds: number;
  /** The queue job that delivers it. */
  owner: string;
  /** Started now: created `active`, or a `queued` one made `active`. */
  start: boolean;
}

export function createRecordArgs(plan: RecordPlan): Array<string | number> {
  return [plan.app, plan.createdAt, plan.tokens, plan.chunks, Math.max(1, Math.ceil(plan.ttlSeconds)), plan.owner, plan.start ? '1' : '0'];
}

/** What creating found: made now, or there already, in `state` and owned by `owner` ('' for none). */
export type RecordReply = { created: true } | { created: false; state: NotificationState; owner: string };

export function parseRecordReply(reply: unknown): RecordReply {
  const [created, state, owner] = Array.isArray(reply) ? (reply as [unknown, unknown, unknown]) : [0, 'queued', ''];
  if (created === 1) return { created: true };
  return { created: false, state: (typeof state === 'string' ? state : 'queued') as NotificationState, owner: typeof owner === 'string' ? owner : '' };
}

/** Whether a job may deliver a notification whose record `reply` describes. */
export function ownedBy(reply: RecordReply, owner: string): boolean {
  return reply.created || reply.owner === '' || reply.owner === owner || (reply.state !== 'queued' && reply.state !== 'active');
}
