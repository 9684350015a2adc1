-- ARGV: user, node, open (1/0), interests...
local me, node, open = ARGV[1], ARGV[2], ARGV[3] == '1'
local interests = {}
for k = 4, #ARGV do interests[#interests + 1] = ARGV[k] end
if redis.call('ZSCORE', P .. 'q', me) then return {'waiting'} end
local myPrev = redis.call('GET', P .. 'p:' .. me)
local best, bestSeq, prev
for _, i in ipairs(interests) do
  local c, seq, p = scan(P .. 'i:' .. i, me, myPrev)
  if c and (not bestSeq or seq < bestSeq) then best, bestSeq = c, seq end
  prev = prev or p
end
if not best and open then
  local c, seq, p = scan(P .. 'open', me, myPrev)
  best = c
  prev = prev or p
end
if not best and prev and redis.call('ZCARD', P .. 'q') == 1 then best = prev end
if best then return pair(interests, best) end
local seq = redis.call('INCR', P .. 'seq')
redis.call('ZADD', P .. 'q', seq, me)
for _, i in ipairs(interests) do redis.call('ZADD', P .. 'i:' .. i, seq, me) end
if open then redis.call('ZADD', P .. 'open', seq, me) end
redis.call('HSET', P .. 'u:' .. me, 'node', node, 'interests', table.concat(interests, '\n'))
return {'waiting'}
