#!/usr/bin/env bash
# A throw-away redis-server for the tests (the ctest fixture "redis", tests/CMakeLists.txt).
#   scripts/redis.sh start DIR   starts one on 127.0.0.1 and a free port, without persistence,
#                                daemonised (DIR/redis.pid, DIR/redis.log); writes
#                                redis://127.0.0.1:PORT to DIR/url
#   scripts/redis.sh stop DIR    stops it (SHUTDOWN NOSAVE, then SIGKILL) and removes DIR/url
# Needs redis-server and redis-cli (scripts/setup.sh --test). Works as root and as a user.
set -euo pipefail

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}
[[ $# -eq 2 ]] || usage
action=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
pidfile=$dir/redis.pid

port_in_use() {
    # bash's /dev/tcp: connect succeeds only if something listens there.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

alive() {
    [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

stop() {
    if [[ -s $dir/url && -s $pidfile ]]; then
        local url port
        url=$(<"$dir/url")
        port=${url##*:}
        redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    fi
    if [[ -s $pidfile ]]; then
        local pid
        pid=$(cat "$pidfile")
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile" "$dir/url"
}

start() {
    command -v redis-server >/dev/null || {
        echo "redis.sh: redis-server not found (run scripts/setup.sh --test)" >&2
        exit 1
    }
    alive && stop # a server left over by an earlier run
    rm -f "$pidfile" "$dir/url"
    # Below the kernel's ephemeral range, where outgoing connections take their local ports.
    local low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    ((low > 11000)) || low=32768
    for _ in $(seq 20); do
        local port=$((10000 + RANDOM % (low - 10000)))
        port_in_use "$port" && continue
        rm -f "$pidfile"
        redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
            --daemonize yes --pidfile "$pidfile" --dir "$dir" --logfile "$dir/redis.log" \
            --protected-mode yes >/dev/null
        # Up when it answers and is ours (its dir), not another server that took the port.
        for _ in $(seq 50); do
            if [[ $(redis-cli -h 127.0.0.1 -p "$port" config get dir 2>/dev/null | sed -n 2p) \
                == "$dir" ]] && alive; then
                echo "redis://127.0.0.1:$port" >"$dir/url"
                echo "redis.sh: redis-server $(cat "$pidfile") on redis://127.0.0.1:$port"
                return 0
            fi
            # It died: the port was taken meanwhile.
            grep -q "Failed listening on port $port " "$dir/redis.log" 2>/dev/null && break
            alive || [[ ! -s $pidfile ]] || break
            sleep 0.1
        done
        if [[ -s $pidfile ]]; then
            kill -9 "$(cat "$pidfile")" 2>/dev/null || true
        fi
    done
    echo "redis.sh: could not start redis-server; last log lines:" >&2
    tail -n 20 "$dir/redis.log" >&2 || true
    exit 1
}

case $action in
start) start ;;
stop) stop ;;
*) usage ;;
esac
