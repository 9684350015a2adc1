-- ARGV: user. Its interest wait is over: open to anyone.
local me = ARGV[1]
local seq = redis.call('ZSCORE', P .. 'q', me)
if not seq then return {'gone'} end
redis.call('ZADD', P .. 'open', seq, me)
local myPrev = redis.call('GET', P .. 'p:' .. me)
local c, s, prev = scan(P .. 'open', me, myPrev)
if not c and prev and redis.call('ZCARD', P .. 'q') == 2 then c = prev end
if not c then return {'waiting'} end
local interests = interestsOf(me)
unqueue(me)
return pair(interests, c)
