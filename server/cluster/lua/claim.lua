-- ARGV: token, node. Single use: the token is gone afterwards. Returns user, place fields...
local key = P .. 't:' .. ARGV[1]
local user = redis.call('GET', key)
if not user then return {} end
redis.call('DEL', key)
local place = redis.call('HGETALL', P .. 's:' .. user)
redis.call('HSET', P .. 's:' .. user, 'node', ARGV[2])
local r = {user}
for _, v in ipairs(place) do r[#r + 1] = v end
return r
