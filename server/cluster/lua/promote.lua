-- ARGV: user, stage (1: its language phase has started, 2: its wait is over, open to anyone).
local me, stage = ARGV[1], tonumber(ARGV[2])
local seq = redis.call('ZSCORE', P .. 'q', me)
if not seq then return {'gone'} end
local lang = redis.call('HGET', P .. 'u:' .. me, 'lang') or ''
if lang ~= '' then redis.call('ZADD', P .. 'l:' .. lang, seq, me) end
if stage >= 2 then redis.call('ZADD', P .. 'open', seq, me) end
local myPrev = redis.call('GET', P .. 'p:' .. me)
local c, s, prev
if lang ~= '' then c, s, prev = scan(P .. 'l:' .. lang, me, myPrev) end
if not c and stage >= 2 then
  local p
  c, s, p = scan(P .. 'open', me, myPrev)
  prev = prev or p
end
if not c and prev and redis.call('ZCARD', P .. 'q') == 2 then c = prev end
if not c then return {'waiting'} end
local interests = interestsOf(me)
unqueue(me)
return pair(interests, lang, c)
