-- Shared by every script. A user's queue entry: `q` (join order), `open`, `i:<interest>`,
-- `il:<language>:<interest>` (the language empty for none), `l:<language>` (its language phase
-- has started), `u:<user>`. A language is a primary subtag: letters only, never a ':'.
local P = 'anonchat:'
local function interestKey(i, lang) return P .. 'il:' .. lang .. ':' .. i end
local function unqueue(u)
  local key = P .. 'u:' .. u
  local interests = redis.call('HGET', key, 'interests')
  local lang = redis.call('HGET', key, 'lang') or ''
  if interests and interests ~= '' then
    for i in string.gmatch(interests, '[^\n]+') do
      redis.call('ZREM', P .. 'i:' .. i, u)
      redis.call('ZREM', interestKey(i, lang), u)
    end
  end
  if lang ~= '' then redis.call('ZREM', P .. 'l:' .. lang, u) end
  redis.call('DEL', key)
  redis.call('ZREM', P .. 'open', u)
  return redis.call('ZREM', P .. 'q', u)
end
local function interestsOf(u)
  local list = {}
  local text = redis.call('HGET', P .. 'u:' .. u, 'interests') or ''
  for i in string.gmatch(text, '[^\n]+') do list[#list + 1] = i end
  return list
end
-- 0: never; 1: yes; 2: a previous partner, only if nobody else waits
local function eligible(me, c, myPrev, dead)
  if c == me then return 0 end
  if redis.call('SISMEMBER', P .. 'b:' .. me, c) == 1 then return 0 end
  local node = redis.call('HGET', P .. 'u:' .. c, 'node')
  if not node then return 0 end
  if redis.call('EXISTS', P .. 'alive:' .. node) == 0 then dead[#dead + 1] = c return 0 end
  if c == myPrev or redis.call('GET', P .. 'p:' .. c) == me then return 2 end
  return 1
end
-- The longest-waiting eligible user in a set, and the first previous partner seen.
local function scan(set, me, myPrev)
  local dead, prev, start = {}, nil, 0
  local found, foundSeq
  while not found do
    local page = redis.call('ZRANGE', set, start, start + 63, 'WITHSCORES')
    if #page == 0 then break end
    for k = 1, #page, 2 do
      local e = eligible(me, page[k], myPrev, dead)
      if e == 1 then found, foundSeq = page[k], tonumber(page[k + 1]) break end
      if e == 2 and not prev then prev = page[k] end
    end
    start = start + 64
  end
  for _, u in ipairs(dead) do unqueue(u) end
  return found, foundSeq, prev
end
-- Returns 'matched', the partner, its node, the common language ('' for none), the common
-- interests.
local function pair(myInterests, myLang, c)
  local mine = {}
  for _, i in ipairs(myInterests) do mine[i] = true end
  local common = {}
  for _, i in ipairs(interestsOf(c)) do if mine[i] then common[#common + 1] = i end end
  table.sort(common)
  local node = redis.call('HGET', P .. 'u:' .. c, 'node')
  local lang = redis.call('HGET', P .. 'u:' .. c, 'lang') or ''
  if lang ~= myLang then lang = '' end
  unqueue(c)
  local r = {'matched', c, node, lang}
  for _, i in ipairs(common) do r[#r + 1] = i end
  return r
end
