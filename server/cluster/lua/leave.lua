return unqueue(ARGV[1])
