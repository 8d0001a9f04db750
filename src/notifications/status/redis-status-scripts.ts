import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { CANCEL_STATUS_LUA } from '../contract/cancel-script.js';

/**
 * The status store's atomic steps. Keys of one notification share a hash tag, so each
 * script touches one Redis Cluster slot. Token checkpoint values: `d` delivered,
 * `f` failed, `x` expired (settled: never sent again), `r<retries>:<dueAt>` rescheduled.
 */
export class StatusScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis | Cluster, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      // A restarted or failed-over Redis has forgotten the script.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

/**
 * KEYS: record (of one app's id). ARGV: app, createdAt, tokens, chunks, ttl, active ("1": start it now).
 * → {1} or {0, state} (the state before this call).
 */
export const createScript = new StatusScript(`
local start = ARGV[6] == '1'
if redis.call('exists', KEYS[1]) == 1 then
  local state = redis.call('hget', KEYS[1], 'state')
  if start and state == 'queued' then redis.call('hset', KEYS[1], 'state', 'active') end
  return {0, state}
end
redis.call('hset', KEYS[1], 'app', ARGV[1], 'createdAt', ARGV[2], 'tokens', ARGV[3], 'chunks', ARGV[4],
  'state', start and 'active' or 'queued', 'sent', 0, 'failed', 0, 'expired', 0, 'attempts', 1)
redis.call('expire', KEYS[1], ARGV[5])
return {1}
`);

/** KEYS: record. → the state before ('' when there is no record). */
export const markActiveScript = new StatusScript(`
local state = redis.call('hget', KEYS[1], 'state')
if state == 'queued' then redis.call('hset', KEYS[1], 'state', 'active') end
return state or ''
`);

/** See contract/cancel-script.ts (herald/client's Redis mode runs the same script). */
export const cancelScript = new StatusScript(CANCEL_STATUS_LUA);

/**
 * Records token outcomes given as ARGV[first …], four per outcome: index, code (d f x r),
 * reason, extra (r: "<retries>:<dueAt>"; f: the invalid-token JSON or "").
 */
const recordOutcomes = `
local function recordOutcomes(record, tokens, invalid, ttl, first)
for i = first, #ARGV, 4 do
  local index, code, reason, extra = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local prev = redis.call('hget', tokens, index)
  if not (prev == 'd' or prev == 'f' or prev == 'x') then
    if code == 'r' then
      redis.call('hset', tokens, index, 'r' .. extra)
      local rounds = tonumber(string.match(extra, '^(%d+)')) + 1
      if rounds > tonumber(redis.call('hget', record, 'attempts') or '1') then
        redis.call('hset', record, 'attempts', rounds)
      end
    else
      redis.call('hset', tokens, index, code)
      if code == 'd' then
        redis.call('hincrby', record, 'sent', 1)
      else
        redis.call('hincrby', record, 'failed', 1)
        redis.call('hincrby', record, 'reason:' .. reason, 1)
        if code == 'x' then redis.call('hincrby', record, 'expired', 1) end
        if extra ~= '' then redis.call('rpush', invalid, extra) end
      end
    end
  end
end
redis.call('expire', tokens, ttl)
if redis.call('exists', invalid) == 1 then redis.call('expire', invalid, ttl) end
end
`;

/** KEYS: record, tokens, invalid. ARGV: ttl, then the outcomes (see recordOutcomes). */
export const recordScript = new StatusScript(`${recordOutcomes}
recordOutcomes(KEYS[1], KEYS[2], KEYS[3], ARGV[1], 2)
return 0
`);

/**
 * KEYS: record, chunks set, tokens, invalid. ARGV: chunk index or "", ttl, now, then the
 * chunk's last outcomes (see recordOutcomes), recorded first. → {0} or {1, app, state, sent, failed, expired}.
 */
export const completeChunkScript = new StatusScript(`${recordOutcomes}
if #ARGV > 3 then recordOutcomes(KEYS[1], KEYS[3], KEYS[4], ARGV[2], 4) end
if redis.call('exists', KEYS[1]) == 0 then return {0} end
if ARGV[1] ~= '' then
  redis.call('sadd', KEYS[2], ARGV[1])
  redis.call('expire', KEYS[2], ARGV[2])
end
local state = redis.call('hget', KEYS[1], 'state')
if state == 'completed' or state == 'failed' then return {0} end
if redis.call('scard', KEYS[2]) < tonumber(redis.call('hget', KEYS[1], 'chunks')) then return {0} end
local tokens = tonumber(redis.call('hget', KEYS[1], 'tokens'))
local sent = tonumber(redis.call('hget', KEYS[1], 'sent'))
local final = 'completed'
if tokens > 0 and sent == 0 then final = 'failed' end
redis.call('hset', KEYS[1], 'state', final, 'finishedAt', ARGV[3])
for _, key in ipairs(KEYS) do
  if redis.call('exists', key) == 1 then redis.call('expire', key, ARGV[2]) end
end
return {1, redis.call('hget', KEYS[1], 'app'), final, sent, tonumber(redis.call('hget', KEYS[1], 'failed')),
  tonumber(redis.call('hget', KEYS[1], 'expired'))}
`);

/** KEYS: record (of one app's id). ARGV: app, reason, now, ttl. → {0} or {1, sent, failed, expired}. */
export const failScript = new StatusScript(`
if redis.call('exists', KEYS[1]) == 0 then
  redis.call('hset', KEYS[1], 'app', ARGV[1], 'createdAt', ARGV[3], 'tokens', 0, 'chunks', 0,
    'sent', 0, 'failed', 0, 'expired', 0, 'attempts', 1)
else
  local state = redis.call('hget', KEYS[1], 'state')
  if state == 'completed' or state == 'failed' then return {0} end
end
redis.call('hset', KEYS[1], 'state', 'failed', 'error', ARGV[2], 'finishedAt', ARGV[3])
redis.call('expire', KEYS[1], ARGV[4])
return {1, tonumber(redis.call('hget', KEYS[1], 'sent')),
  tonumber(redis.call('hget', KEYS[1], 'failed')), tonumber(redis.call('hget', KEYS[1], 'expired'))}
`);
