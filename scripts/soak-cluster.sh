#!/usr/bin/env bash
# Soak of a cluster: two real anonchat-servers sharing a throw-away Redis and PostgreSQL
# (scripts/redis.sh, scripts/pg.sh), under anonchat-soak's churn over both (each user keeps to one
# server, rooms cross them). It judges what crosses servers: no acknowledged message missing at a
# partner still in the room, no failed resume, no server closing a client; the driver's report
# says so (exit 1 on any problem). RSS and descriptors are scripts/soak.sh's job (one server).
#   scripts/soak-cluster.sh [--duration SECONDS] [--users N] [--fast]
#                           defaults 120 s, 1000 users; --fast: a message every 0.2-1 s, rooms
#                           ended and joined again within 0.1-0.5 s, drops back within 0.2-2 s
#                           (more leaves crossing messages in flight)
# ANONCHAT_BENCH_BUILD: the build directory (default build-test); the driver's report and the
# servers' logs stay in $ANONCHAT_BENCH_BUILD/soak-cluster-results/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=scripts/bench-common.sh
. "$root/scripts/bench-common.sh"

usage="usage: scripts/soak-cluster.sh [--duration SECONDS] [--users N] [--fast]"
duration=120
users=1000
pace=()
while (($#)); do
    case $1 in
    --duration | --users)
        [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "$usage" >&2; exit 2; }
        if [[ $1 == --duration ]]; then duration=$2; else users=$2; fi
        shift 2
        ;;
    --fast) pace=(--message-interval 0.2-1 --think 0.1-0.5 --reconnect 0.2-2); shift ;;
    *) echo "$usage" >&2; exit 2 ;;
    esac
done

bench_build anonchat-server anonchat-soak
ulimit -n "$(ulimit -Hn)"
results=$build/soak-cluster-results
rm -rf "$results"
mkdir -p "$results"
tmp=$(mktemp -d)
pids=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    cluster_services_stop "$tmp"
    rm -rf "$tmp"
}
trap cleanup EXIT

cluster_services_start "$tmp"
urls=()
for i in 1 2; do
    mkfifo "$tmp/stdout$i"
    "$server_bin" --port 0 --db "$pg_url" --redis "$redis_url" \
        --rate-limit 0 --max-connections-per-address 0 --interest-wait 1 \
        >"$tmp/stdout$i" 2>"$results/server$i.log" &
    pids+=($!)
    exec 3<"$tmp/stdout$i"
    if ! read -r -t 30 line <&3; then
        echo "soak-cluster: server $i did not print its URL; see $results/server$i.log" >&2
        exit 1
    fi
    cat <&3 >>"$results/server$i.log" &
    exec 3<&-
    [[ $line =~ http://127\.0\.0\.1:([0-9]+)/ ]] || { echo "soak-cluster: unexpected line: $line" >&2; exit 1; }
    urls+=("ws://127.0.0.1:${BASH_REMATCH[1]}/ws")
done
sleep 1.5 # both servers have beaten once: each knows the other

echo "== soak-cluster: $users users over 2 servers, ${duration} s${pace:+ (fast)} =="
status=0
"$build/tests/bench/anonchat-soak" --url "${urls[0]},${urls[1]}" --users "$users" \
    --duration "$duration" --progress 30 "${pace[@]}" >"$results/driver.txt" \
    2>"$results/driver.log" || status=$?
cat "$results/driver.txt"
for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "FAIL a server died; see $results"; status=1; }
done
exit "$status"
