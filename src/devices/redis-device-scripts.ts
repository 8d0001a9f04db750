// The Lua scripts of the Redis device registry: every write that touches several keys is one script.

/**
 * Shared by every script. KEYS[1] is the app's meta hash, ARGV[1] the app's key base
 * (`<prefix>:{dev:<app>}:`); every other key is built from the base, so all of an app's
 * keys share its hash tag (one Cluster slot).
 *
 * The directory (token field → device id, `u<userId>` → ids) is a linear hash over
 * `d:<n>` hashes: buckets split one at a time as it grows, so each stays a small
 * listpack (about LOAD entries, under the default hash-max-listpack-entries of 128).
 * Records live in `r:<id / 64>` (field id % 64: the index part, id % 64 + 64: the data
 * part); interests in `i:<interest>:<id / 512>` sets of ids (intsets), their sizes in `isz`.
 */
const library = `
local meta = KEYS[1]
local base = ARGV[1]
local LOAD = 40
local state = redis.call('HMGET', meta, 'n', 's')
local n = tonumber(state[1] or '1')
local s = tonumber(state[2] or '0')

local function hash32(field)
  return tonumber(string.sub(redis.sha1hex(field), 1, 8), 16)
end

local function bucketOf(field)
  local h = hash32(field)
  local b = h % n
  if b < s then b = h % (2 * n) end
  return base .. 'd:' .. b
end

local function split()
  local from = base .. 'd:' .. s
  local to = base .. 'd:' .. (s + n)
  local entries = redis.call('HGETALL', from)
  for i = 1, #entries, 2 do
    if hash32(entries[i]) % (2 * n) ~= s then
      redis.call('HSET', to, entries[i], entries[i + 1])
      redis.call('HDEL', from, entries[i])
    end
  end
  s = s + 1
  if s == n then
    n = 2 * n
    s = 0
  end
  redis.call('HSET', meta, 'n', n, 's', s)
end

local function dirGet(field)
  local v = redis.call('HGET', bucketOf(field), field)
  if v then return v end
  return nil
end

local function dirSet(field, value)
  if redis.call('HSET', bucketOf(field), field, value) == 1 then
    local c = redis.call('HINCRBY', meta, 'c', 1)
    if c > (n + s) * LOAD then split() end
  end
end

local function dirDel(field)
  if redis.call('HDEL', bucketOf(field), field) == 1 then redis.call('HINCRBY', meta, 'c', -1) end
end

local function recKey(id) return base .. 'r:' .. math.floor(id / 64) end

local function record(id)
  return redis.call('HMGET', recKey(id), id % 64, id % 64 + 64)
end

local function parseIndex(v)
  local bar = string.find(v, '|', 1, true)
  local list = {}
  for w in string.gmatch(string.sub(v, bar + 1), '[^ ]+') do list[#list + 1] = w end
  return string.sub(v, 1, bar - 1), list
end

local function tokenFieldOf(data)
  local len = string.byte(data, 1) * 256 + string.byte(data, 2)
  return string.sub(data, 3, 2 + len)
end

local function userAdd(user, id)
  local field = 'u' .. user
  local v = dirGet(field)
  if v then dirSet(field, v .. ',' .. id) else dirSet(field, id) end
end

local function userRemove(user, id)
  local field = 'u' .. user
  local v = dirGet(field)
  if not v then return end
  local kept = {}
  for x in string.gmatch(v, '[^,]+') do
    if tonumber(x) ~= id then kept[#kept + 1] = x end
  end
  if #kept == 0 then dirDel(field) else dirSet(field, table.concat(kept, ',')) end
end

local function interestKey(interest, id) return base .. 'i:' .. interest .. ':' .. math.floor(id / 512) end

local function interestAdd(interest, id)
  if redis.call('SADD', interestKey(interest, id), id) == 1 then redis.call('HINCRBY', base .. 'isz', interest, 1) end
end

local function interestRemove(interest, id)
  if redis.call('SREM', interestKey(interest, id), id) == 1 then
    if redis.call('HINCRBY', base .. 'isz', interest, -1) <= 0 then redis.call('HDEL', base .. 'isz', interest) end
  end
end

-- Unlinks device id (its index part given) from its user, interests, record and token field.
local function unlink(id, index, data)
  local user, interests = parseIndex(index)
  userRemove(user, id)
  for _, interest in ipairs(interests) do interestRemove(interest, id) end
  redis.call('HDEL', recKey(id), id % 64, id % 64 + 64)
  dirDel(tokenFieldOf(data))
end
`;

/** ARGV: base, token field, user id, interests (space-separated), data part. Returns 1 when created. */
export const putLua = `${library}
local field, user, interests, data = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local id = dirGet(field)
local created = 0
local oldUser, oldInterests = nil, {}
if id then
  id = tonumber(id)
  local old = record(id)
  if old[1] then oldUser, oldInterests = parseIndex(old[1]) end
else
  id = redis.call('HINCRBY', meta, 'seq', 1)
  dirSet(field, id)
  created = 1
end
if oldUser ~= user then
  if oldUser then userRemove(oldUser, id) end
  userAdd(user, id)
end
local _, newList = parseIndex('|' .. interests)
local wanted, had = {}, {}
for _, i in ipairs(newList) do wanted[i] = true end
for _, i in ipairs(oldInterests) do
  had[i] = true
  if not wanted[i] then interestRemove(i, id) end
end
for _, i in ipairs(newList) do
  if not had[i] then interestAdd(i, id) end
end
redis.call('HSET', recKey(id), id % 64, user .. '|' .. interests, id % 64 + 64, data)
return created
`;

/** ARGV: base, token field. Returns {index, data} or nil. */
export const getLua = `${library}
local id = dirGet(ARGV[2])
if not id then return nil end
return record(tonumber(id))
`;

/** ARGV: base, token field. Returns the removed {index, data} or nil. */
export const removeLua = `${library}
local id = dirGet(ARGV[2])
if not id then return nil end
id = tonumber(id)
local old = record(id)
if old[1] and old[2] then
  unlink(id, old[1], old[2])
else
  dirDel(ARGV[2])
end
return old
`;

/** ARGV: base, user id. Returns how many devices were removed. */
export const removeUserLua = `${library}
local v = dirGet('u' .. ARGV[2])
if not v then return 0 end
local removed = 0
for x in string.gmatch(v, '[^,]+') do
  local id = tonumber(x)
  local old = record(id)
  if old[1] and old[2] then
    unlink(id, old[1], old[2])
    removed = removed + 1
  end
end
dirDel('u' .. ARGV[2])
return removed
`;

/** ARGV: base, user ids… Returns one array per user, aligned: {index, data, index, data, …}. */
export const devicesOfUsersLua = `${library}
local out = {}
for a = 2, #ARGV do
  local list = {}
  local v = dirGet('u' .. ARGV[a])
  if v then
    for x in string.gmatch(v, '[^,]+') do
      local r = record(tonumber(x))
      if r[1] and r[2] then
        list[#list + 1] = r[1]
        list[#list + 1] = r[2]
      end
    end
  end
  out[#out + 1] = list
end
return out
`;

/**
 * ARGV: base, interest, first id, count, most buckets to probe. Returns {next id or '',
 * index, data, …}: ids ascend, so the next id is a cursor no device present throughout skips.
 */
export const interestPageLua = `${library}
local interest, from, count, probes = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local last = math.floor(tonumber(redis.call('HGET', meta, 'seq') or '0') / 512)
local out = {''}
local taken = 0
local bucket = math.floor(from / 512)
local nextId = from
while bucket <= last and probes > 0 and taken < count do
  local ids = redis.call('SMEMBERS', base .. 'i:' .. interest .. ':' .. bucket)
  for k = 1, #ids do ids[k] = tonumber(ids[k]) end
  table.sort(ids)
  nextId = (bucket + 1) * 512
  for _, id in ipairs(ids) do
    if id >= from then
      if taken == count then
        nextId = id
        break
      end
      local r = record(id)
      if r[1] and r[2] then
        out[#out + 1] = r[1]
        out[#out + 1] = r[2]
      end
      taken = taken + 1
    end
  end
  if nextId ~= (bucket + 1) * 512 then break end
  bucket = bucket + 1
  probes = probes - 1
end
if nextId <= last * 512 + 511 then out[1] = tostring(nextId) end
return out
`;
