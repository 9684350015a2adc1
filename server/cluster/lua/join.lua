-- ARGV: user, node, stage (0: waiting for a shared interest, 1: in its language phase, 2: open to
-- anyone), language ('' for none), interests... The tiers of PROTOCOL.md's "Matching", in order.
local me, node, stage, lang = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local interests = {}
for k = 5, #ARGV do interests[#interests + 1] = ARGV[k] end
if redis.call('ZSCORE', P .. 'q', me) then return {'waiting'} end
local myPrev = redis.call('GET', P .. 'p:' .. me)
local best, bestSeq, prev
local function consider(set)
  local c, seq, p = scan(set, me, myPrev)
  if c and (not bestSeq or seq < bestSeq) then best, bestSeq = c, seq end
  prev = prev or p
end
-- 1: a shared interest, the languages not different.
for _, i in ipairs(interests) do
  if lang == '' then
    consider(P .. 'i:' .. i)
  else
    consider(interestKey(i, ''))
    consider(interestKey(i, lang))
  end
end
-- 2: the same language, both in their language phase; 3: anyone, both open.
if not best and stage >= 1 and lang ~= '' then consider(P .. 'l:' .. lang) end
if not best and stage >= 2 then consider(P .. 'open') end
if not best and prev and redis.call('ZCARD', P .. 'q') == 1 then best = prev end
if best then return pair(interests, lang, best) end
local seq = redis.call('INCR', P .. 'seq')
redis.call('ZADD', P .. 'q', seq, me)
for _, i in ipairs(interests) do
  redis.call('ZADD', P .. 'i:' .. i, seq, me)
  redis.call('ZADD', interestKey(i, lang), seq, me)
end
if stage >= 1 and lang ~= '' then redis.call('ZADD', P .. 'l:' .. lang, seq, me) end
if stage >= 2 then redis.call('ZADD', P .. 'open', seq, me) end
redis.call('HSET', P .. 'u:' .. me, 'node', node, 'interests', table.concat(interests, '\n'),
  'lang', lang)
return {'waiting'}
