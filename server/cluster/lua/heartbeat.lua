-- ARGV: node, ttl ms, online, rooms. Returns online, rooms, queued, live nodes...
local node = ARGV[1]
local existed = redis.call('EXISTS', P .. 'alive:' .. node)
redis.call('SET', P .. 'alive:' .. node, ARGV[3] .. ' ' .. ARGV[4], 'PX', tonumber(ARGV[2]))
-- After a Redis restart without its data, node numbers must not be handed out again.
if tonumber(redis.call('GET', P .. 'nodeseq') or '0') < tonumber(node) then
  redis.call('SET', P .. 'nodeseq', node)
end
redis.call('SADD', P .. 'nodes', node)
local online, rooms, live = 0, 0, {}
for _, n in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  local v = redis.call('GET', P .. 'alive:' .. n)
  if v then
    local o, r = string.match(v, '(%d+) (%d+)')
    online = online + tonumber(o)
    rooms = rooms + tonumber(r)
    live[#live + 1] = n
  else
    redis.call('SREM', P .. 'nodes', n)
    for _, u in ipairs(redis.call('ZRANGE', P .. 'q', 0, -1)) do
      if redis.call('HGET', P .. 'u:' .. u, 'node') == n then unqueue(u) end
    end
  end
end
local r = {online, rooms, redis.call('ZCARD', P .. 'q'), existed}
for _, n in ipairs(live) do r[#r + 1] = tonumber(n) end
return r
