import { LuaScript } from '../../../redis/lua-script.js';

/**
 * The atomic transitions of shared channel state. Each runs inside one Redis
 * script, so of all the nodes joining or leaving at once exactly one sees "first
 * socket", "first socket of this user", "last socket"… and announces it.
 *
 * Channel scripts take the five channel keys (sockets, users, info, order, seq),
 * which share a hash tag.
 */

const membersOf = `
local function members(users_info, order)
  local out = {}
  local ids = redis.call('ZRANGE', order, 0, -1)
  if #ids == 0 then return out end
  -- HMGET in slices: unpack() has a small stack limit.
  for from = 1, #ids, 1000 do
    local slice = {unpack(ids, from, math.min(from + 999, #ids))}
    local infos = redis.call('HMGET', users_info, unpack(slice))
    for i, id in ipairs(slice) do
      out[#out + 1] = id
      out[#out + 1] = infos[i] or ''
    end
  end
  return out
end
`;

/**
 * ARGV: socket id, user id ('' outside presence), user_info JSON, max members (-1: none).
 * Returns {'full', members} or {'joined', firstSocket, firstForUser, subscriptionCount, id1, info1, id2, info2, …}
 * (members only when a user id was given).
 */
export const joinScript = new LuaScript(
  'herald-join',
  `${membersOf}
local sockets, users, info, order, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local socket, user, user_info, max_members = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local function reply(first_socket, first_user)
  local out = {'joined', first_socket, first_user, redis.call('HLEN', sockets)}
  if user ~= '' then
    for _, v in ipairs(members(info, order)) do out[#out + 1] = v end
  end
  return out
end
if redis.call('HEXISTS', sockets, socket) == 1 then return reply(0, 0) end
local first_user = 0
if user ~= '' then
  local count = tonumber(redis.call('HGET', users, user) or '0')
  if count == 0 then
    local present = redis.call('HLEN', users)
    if max_members >= 0 and present >= max_members then return {'full', present} end
    first_user = 1
    redis.call('HSET', info, user, user_info)
    redis.call('ZADD', order, redis.call('INCR', seq), user)
  end
  redis.call('HINCRBY', users, user, 1)
end
local first_socket = redis.call('HLEN', sockets) == 0 and 1 or 0
redis.call('HSET', sockets, socket, user)
return reply(first_socket, first_user)
`,
);

/** KEYS: the channel's info and order keys. Presence members in join order, as {id1, info1, id2, info2, …}, read atomically. */
export const membersScript = new LuaScript('herald-members', `${membersOf}
return members(KEYS[1], KEYS[2])
`);

/**
 * ARGV: socket id. Returns {left, lastSocket, lastForUser, subscriptionCount, user id, user_info JSON}.
 * A socket that is not in the channel changes nothing (left = 0).
 */
export const leaveScript = new LuaScript(
  'herald-leave',
  `
local sockets, users, info, order, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local socket = ARGV[1]
local user = redis.call('HGET', sockets, socket)
if not user then return {0, 0, 0, redis.call('HLEN', sockets), '', ''} end
redis.call('HDEL', sockets, socket)
local last_user = 0
local user_info = ''
if user ~= '' then
  user_info = redis.call('HGET', info, user) or ''
  if redis.call('HINCRBY', users, user, -1) <= 0 then
    redis.call('HDEL', users, user)
    redis.call('HDEL', info, user)
    redis.call('ZREM', order, user)
    last_user = 1
  end
end
local remaining = redis.call('HLEN', sockets)
if remaining == 0 then redis.call('DEL', users, info, order, seq) end
return {1, remaining == 0 and 1 or 0, last_user, remaining, user, user_info}
`,
);

/** KEYS: the app's connection set. ARGV: socket id, limit (-1: none). Returns {accepted, count}. */
export const openConnectionScript = new LuaScript(
  'herald-open-connection',
  `
local count = redis.call('SCARD', KEYS[1])
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {1, count} end
local limit = tonumber(ARGV[2])
if limit >= 0 and count >= limit then return {0, count} end
redis.call('SADD', KEYS[1], ARGV[1])
return {1, count + 1}
`,
);

const redisNowMs = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: the node set. ARGV: node id. Records a heartbeat at Redis' clock. Returns 1
 * when the node was listed and alive before, 0 when it is new, was forgotten (Redis
 * lost its data) or is being reaped (score 0): then it must re-sync.
 */
export const heartbeatScript = new LuaScript(
  'herald-heartbeat',
  `${redisNowMs}
local before = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
if before and tonumber(before) > 0 then return 1 end
return 0
`,
);

/** KEYS: the node set. ARGV: timeout ms. Node ids silent for longer than the timeout by Redis' clock (being reaped included). */
export const silentNodesScript = new LuaScript(
  'herald-silent-nodes',
  `${redisNowMs}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])))
`,
);

/** KEYS: the node set. ARGV: timeout ms. Node ids heard from within the timeout by Redis' clock. */
export const liveNodesScript = new LuaScript(
  'herald-live-nodes',
  `${redisNowMs}
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')
`,
);

/**
 * KEYS: the generation key. ARGV: a new random generation. Returns the generation
 * of the data Redis holds, starting a new one when the key is missing (first start,
 * or Redis lost its data).
 */
export const generationScript = new LuaScript(
  'herald-generation',
  `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`,
);

/**
 * KEYS: the node set. ARGV: node id, timeout ms. Marks a still-silent node as being
 * reaped (score 0) and returns 1; returns 0 when it spoke meanwhile. A node whose
 * next heartbeat finds score 0 knows it was taken for dead and re-syncs.
 */
export const markReapingScript = new LuaScript(
  'herald-mark-reaping',
  `${redisNowMs}
local seen = redis.call('ZSCORE', KEYS[1], ARGV[1])
if seen and tonumber(seen) < now - tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], 0, ARGV[1])
  return 1
end
return 0
`,
);

/** KEYS: the node set. ARGV: node id. Forgets a reaped node unless it came back (heartbeat since). */
export const forgetReapedScript = new LuaScript(
  'herald-forget-reaped',
  `
local seen = redis.call('ZSCORE', KEYS[1], ARGV[1])
if seen and tonumber(seen) == 0 then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
`,
);

/** KEYS: a lock. ARGV: owner, ttl ms. Extends the lock only while `owner` holds it. */
export const extendLockScript = new LuaScript(
  'herald-extend-lock',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`,
);

/** KEYS: a lock. ARGV: owner. Releases the lock only while `owner` holds it. */
export const releaseLockScript = new LuaScript(
  'herald-release-lock',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
);
