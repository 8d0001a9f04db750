import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { CANCEL_STATUS_LUA } from '../contract/cancel-script.js';
import { CREATE_RECORD_LUA } from '../contract/record-script.js';

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

/** KEYS: record. → the state before ('' when there is no record). */
export const markActiveScript = new StatusScript(`
local state = redis.call('hget', KEYS[1], 'state')
if state == 'queued' then redis.call('hset', KEYS[1], 'state', 'active') end
return state or ''
`);

/** See contract/cancel-script.ts (herald/client's Redis mode runs the same script). */
export const cancelScript = new StatusScript(CANCEL_STATUS_LUA);

/**
 * Records token outcomes given as A[first …]: A[first] the indexes of the APNs tokens
 * delivered, comma-joined ('' for none); then four per other outcome: index, code (d f x r;
 * a settled one of an FCM or Web Push token as d:fcm, f:web …, counted apart in
 * fcmSent, webFailed …), reason, extra (r: "<retries>:<dueAt>"; f: the invalid-token JSON or "").
 * The delivered ones are settled with one HMGET and one HSET per thousand, and counted at once.
 */
const recordOutcomes = `
local function settleDelivered(record, tokens, list)
  if list == nil or list == '' then return end
  local indexes, seen = {}, {}
  for index in string.gmatch(list, '[^,]+') do
    if not seen[index] then
      seen[index] = true
      indexes[#indexes + 1] = index
    end
  end
  local settled = 0
  for from = 1, #indexes, 1000 do
    local part = {unpack(indexes, from, math.min(#indexes, from + 999))}
    local prev = redis.call('hmget', tokens, unpack(part))
    local fields = {}
    for j = 1, #part do
      local p = prev[j]
      if not (p == 'd' or p == 'f' or p == 'x') then
        fields[#fields + 1] = part[j]
        fields[#fields + 1] = 'd'
      end
    end
    if #fields > 0 then
      redis.call('hset', tokens, unpack(fields))
      settled = settled + #fields / 2
    end
  end
  if settled > 0 then redis.call('hincrby', record, 'sent', settled) end
end

local function recordOutcomes(record, tokens, invalid, ttl, A, first)
for i = first + 1, #A, 4 do
  local index, code, reason, extra = A[i], string.sub(A[i + 1], 1, 1), A[i + 2], A[i + 3]
  local platform = string.sub(A[i + 1], 3)
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
        if platform ~= '' then redis.call('hincrby', record, platform .. 'Sent', 1) end
      else
        redis.call('hincrby', record, 'failed', 1)
        if platform ~= '' then redis.call('hincrby', record, platform .. 'Failed', 1) end
        redis.call('hincrby', record, 'reason:' .. reason, 1)
        if code == 'x' then redis.call('hincrby', record, 'expired', 1) end
        if extra ~= '' then redis.call('rpush', invalid, extra) end
      end
    end
  end
end
settleDelivered(record, tokens, A[first])
-- The checkpoints go when the record goes: a status that is forgotten has no settled tokens left.
local keep = redis.call('pttl', record)
for _, key in ipairs({tokens, invalid}) do
  if redis.call('exists', key) == 1 then
    if keep > 0 then redis.call('pexpire', key, keep) else redis.call('expire', key, ttl) end
  end
end
end
`;

/**
 * Settles a whole notification at once from outcomes given as A[first …] (see
 * recordOutcomes): its first and only record of outcomes, so no token map is written —
 * once finished, the state alone says nothing is to be sent again.
 */
const settleAtOnce = `
local function settleAtOnce(record, invalid, ttl, now, app, tokens, A, first)
  local sent, failed, expired, reasons, seen, counted = 0, 0, 0, {}, {}, {}
  for i = first + 1, #A, 4 do
    local index, code, reason, extra = A[i], string.sub(A[i + 1], 1, 1), A[i + 2], A[i + 3]
    local platform = string.sub(A[i + 1], 3)
    if not seen[index] then
      seen[index] = true
      local field = ''
      if platform ~= '' then field = platform .. 'Failed' end
      if code == 'd' then
        sent = sent + 1
        if platform ~= '' then field = platform .. 'Sent' end
      else
        failed = failed + 1
        reasons[reason] = (reasons[reason] or 0) + 1
        if code == 'x' then expired = expired + 1 end
        if extra ~= '' then redis.call('rpush', invalid, extra) end
      end
      if field ~= '' then counted[field] = (counted[field] or 0) + 1 end
    end
  end
  for index in string.gmatch(A[first] or '', '[^,]+') do
    if not seen[index] then
      seen[index] = true
      sent = sent + 1
    end
  end
  local final = 'completed'
  if tokens > 0 and sent == 0 then final = 'failed' end
  local fields = {'state', final, 'finishedAt', now, 'sent', sent, 'failed', failed, 'expired', expired, 'settledAtOnce', 1}
  for reason, n in pairs(reasons) do
    fields[#fields + 1] = 'reason:' .. reason
    fields[#fields + 1] = n
  end
  for field, n in pairs(counted) do
    fields[#fields + 1] = field
    fields[#fields + 1] = n
  end
  redis.call('hset', record, unpack(fields))
  redis.call('expire', record, ttl)
  if failed > 0 and redis.call('exists', invalid) == 1 then redis.call('expire', invalid, ttl) end
  return {1, app, final, sent, failed, expired}
end
`;

/**
 * K: record, chunks set, tokens, invalid. A: chunk index or "", ttl, now, then the chunk's
 * last outcomes if any (see recordOutcomes: the delivered list, then the others), recorded
 * first. → {0} or {1, app, state, sent, failed, expired}.
 * A notification of one chunk settled by this call alone (no token map yet, nothing to
 * resend) is finished by one write of its counts.
 */
const complete = `${recordOutcomes}${settleAtOnce}
local function complete(K, A)
  local rec = redis.call('hmget', K[1], 'state', 'chunks', 'app', 'tokens', 'sent', 'failed', 'attempts', 'settledAtOnce')
  local state, chunks, app = rec[1], tonumber(rec[2] or '0'), rec[3]
  local open = app and state ~= 'completed' and state ~= 'failed'
  -- No outcome recorded yet (none settled, none rescheduled): no token map holds anything to count.
  local unrecorded = tonumber(rec[5] or '0') == 0 and tonumber(rec[6] or '0') == 0 and tonumber(rec[7] or '1') <= 1
  local outcomes = #A > 4 or (A[4] or '') ~= ''
  if outcomes and chunks <= 1 and (rec[8] or unrecorded) then
    -- Finished with no token map: it was settled at once, every token with it.
    if app and not open and rec[8] then return {0} end
    local settled = open
    for i = 6, #A, 4 do if A[i] == 'r' then settled = false end end
    if settled then return settleAtOnce(K[1], K[4], A[2], A[3], app, tonumber(rec[4] or '0'), A, 4) end
  end
  if outcomes then recordOutcomes(K[1], K[3], K[4], A[2], A, 4) end
  if not open then return {0} end
  if A[1] ~= '' then
    redis.call('sadd', K[2], A[1])
    redis.call('expire', K[2], A[2])
  end
  if redis.call('scard', K[2]) < chunks then return {0} end
  local counts = redis.call('hmget', K[1], 'tokens', 'sent', 'failed', 'expired')
  local tokens, sent = tonumber(counts[1]), tonumber(counts[2])
  local final = 'completed'
  if tokens > 0 and sent == 0 then final = 'failed' end
  redis.call('hset', K[1], 'state', final, 'finishedAt', A[3])
  for _, key in ipairs(K) do
    if redis.call('exists', key) == 1 then redis.call('expire', key, A[2]) end
  end
  return {1, app, final, sent, tonumber(counts[3]), tonumber(counts[4])}
end
`;

/**
 * The hot steps of many notifications in one script call (status/op-batcher.ts): every
 * notification of a partition shares its hash tag, so one call may touch them all.
 * ARGV[1]: the ops as JSON, `[[name, key count, [args]], …]` (op-batcher.ts `batchJson`); KEYS: every
 * op's keys in order.
 * → one reply per op.
 */
export const batchScript = new StatusScript(`${CREATE_RECORD_LUA}${complete}
local ops = {
  create = function(K, A) return createRecord(K[1], A[1], A[2], A[3], A[4], A[5], A[6], A[7] == '1') end,
  progress = function(K, A)
    local values = {}
    for from = 1, #A, 1000 do
      local part = redis.call('hmget', K[1], unpack(A, from, math.min(#A, from + 999)))
      for i = 1, #part do values[#values + 1] = part[i] end
    end
    return values
  end,
  firstSend = function(K, A) return redis.call('hsetnx', K[1], 'firstSendAt', A[1]) end,
  record = function(K, A)
    recordOutcomes(K[1], K[2], K[3], A[1], A, 2)
    return 0
  end,
  complete = complete,
}
local batch, replies, k = cjson.decode(ARGV[1]), {}, 1
for op = 1, #batch do
  local name, nk, A = batch[op][1], batch[op][2], batch[op][3]
  local K = {}
  for i = 1, nk do K[i] = KEYS[k + i - 1] end
  k = k + nk
  replies[op] = ops[name](K, A)
end
return replies
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

/**
 * KEYS: record, targets hash. ARGV: users total ('' for none), online, pushed, noDevices,
 * token count, chunk count, online user ids (JSON), then one comma-joined token list per chunk.
 * Records a notification's resolved targets once (`resolved` on the record) and makes the
 * record count the resolved tokens and chunks. → 1 recorded now, 0 recorded before, -1 no record.
 */
export const saveTargetsScript = new StatusScript(`
if redis.call('exists', KEYS[1]) == 0 then return -1 end
if redis.call('hsetnx', KEYS[1], 'resolved', 1) == 0 then return 0 end
redis.call('hset', KEYS[1], 'tokens', ARGV[5], 'chunks', ARGV[6])
if ARGV[1] ~= '' then
  redis.call('hset', KEYS[1], 'usersTotal', ARGV[1], 'usersOnline', ARGV[2], 'usersPushed', ARGV[3], 'usersNoDevices', ARGV[4])
end
redis.call('del', KEYS[2])
redis.call('hset', KEYS[2], 'online', ARGV[7])
for i = 8, #ARGV do redis.call('hset', KEYS[2], 'c' .. (i - 8), ARGV[i]) end
local ttl = redis.call('pttl', KEYS[1])
if ttl > 0 then redis.call('pexpire', KEYS[2], ttl) end
return 1
`);
