-- ARGV: node, ttl ms. A node number nobody holds: 1 if taken, 0 if someone has it.
return redis.call('SET', P .. 'alive:' .. ARGV[1], '0 0', 'NX', 'PX', tonumber(ARGV[2])) and 1 or 0
