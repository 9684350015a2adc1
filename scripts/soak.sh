#!/usr/bin/env bash
# Soak test: the real anonchat-server (a fresh SQLite database in a temporary directory) under
# churn from anonchat-soak (tests/bench/soak.cpp): simulated users connect, join the queue, get
# matched, chat at a human pace, then leave, press next, drop abruptly and resume, or leave for
# good while a new user takes their place. Every interval it prints one row: the server's RSS
# (VmRSS) and open descriptors from /proc, and the gauges of GET /metrics. Loopback only.
#   scripts/soak.sh [--duration SECONDS] [--users N] [--interval SECONDS]
#                             defaults 1800 s, 1000 users, a row every 60 s
#   scripts/soak.sh --smoke   60 s, 1000 users, a row every 10 s: the smoke test CI runs
# Judged at the end (PASS/FAIL lines, exit 1 on any FAIL):
#   - RSS grows by under 5% from the end of the warm-up to the end of the load. The warm-up is 2
#     minutes (a third of the duration when that is shorter) and, beyond that, lasts until the
#     database file outgrows the server's SQLite page cache (32 MiB, filled as the database grows:
#     at the default pace after about a quarter of an hour; a row's db_kib says how far). A run
#     whose database never gets there is judged from the 2 minutes, and says so. With --smoke
#     this is printed but does not decide the exit status: a minute is too short to tell growth
#     from warming up.
#   - Once the clients are gone, the server's descriptors return to their count before the load,
#     within 2 (see `slack` below), and anonchat_connections returns to 0.
#   - The server is alive (GET /healthz 200), and stops with exit 0 on SIGTERM.
#   - The driver counted no failure: no `error` internal (or any code a well-behaved client never
#     gets), no failed resume, no connection refused or closed by the server, no acknowledged
#     message missing at a partner still in the room.
# ANONCHAT_BENCH_BUILD: the build directory (default build-test, RelWithDebInfo, as scripts/test.sh
# builds it; configured and built here when needed). ANONCHAT_SOAK_SERVER: another anonchat-server
# binary to soak (e.g. an older build); ANONCHAT_SOAK_SERVER_ARGS: extra flags for it (e.g.
# "--threads 1"). The rows, the driver's report and the logs stay in
# $ANONCHAT_BENCH_BUILD/soak-results/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=scripts/bench-common.sh
. "$root/scripts/bench-common.sh"

usage="usage: scripts/soak.sh [--duration SECONDS] [--users N] [--interval SECONDS] | --smoke"
duration=1800
users=1000
interval=60
smoke=0
number() {
    [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || {
        echo "soak: $1 needs a positive whole number" >&2
        exit 2
    }
}
while (($#)); do
    case $1 in
    --duration) number "$1" "${2:-}"; duration=$2; shift 2 ;;
    --users) number "$1" "${2:-}"; users=$2; shift 2 ;;
    --interval) number "$1" "${2:-}"; interval=$2; shift 2 ;;
    --smoke) smoke=1; duration=60; interval=10; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
    esac
done
warmup=$((duration / 3 < 120 ? duration / 3 : 120))
# Descriptors may exceed the count before the load by this much: the sampler's own HTTP
# connection to /metrics or /healthz may not be closed by the server yet when /proc is read, and
# SQLite may open a file lazily (a temporary file for a large sort). A leak grows with the churn
# (thousands of connections here), so a fixed slack of 2 hides none.
slack=2
# The server gives SQLite a page cache of up to 32 MiB (server/storage/dialect.cpp, cache_size), filled as
# the database grows: RSS grows with it until the database file outgrows it, and is flat after.
# The growth after that point is printed too (information, not judged), with the database's size
# in every row.
sqlite_cache_kb=32768

bench_build anonchat-server anonchat-soak
soak_bin=$build/tests/bench/anonchat-soak
server_bin=${ANONCHAT_SOAK_SERVER:-$server_bin}
ulimit -n "$(ulimit -Hn)"

results=$build/soak-results
rm -rf "$results"
mkdir -p "$results"
tmp=$(mktemp -d)
server_pid=""
driver_pid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [[ -n $driver_pid ]]; then kill -KILL "$driver_pid" 2>/dev/null || true; fi
    if [[ -n $server_pid ]]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the server -------------------------------------------------------------------------------
# One address holds every simulated user: no per-address cap, no rate limit (as scripts/bench.sh).
mkfifo "$tmp/stdout"
read -r -a extra_flags <<<"${ANONCHAT_SOAK_SERVER_ARGS:-}"
"$server_bin" --port 0 --db "$tmp/chat.db" --rate-limit 0 --max-connections-per-address 0 \
    "${extra_flags[@]}" >"$tmp/stdout" 2>"$results/server.log" &
server_pid=$!
exec 3<"$tmp/stdout"
if ! read -r -t 30 line <&3; then
    echo "soak: the server did not print its URL; see $results/server.log" >&2
    exit 1
fi
cat <&3 >>"$results/server.log" &
exec 3<&-
[[ $line =~ http://127\.0\.0\.1:([0-9]+)/ ]] || { echo "soak: unexpected line: $line" >&2; exit 1; }
port=${BASH_REMATCH[1]}

# http PATH: the answer (head and body) of GET PATH, through bash's /dev/tcp (no curl needed).
http() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 10 bash -c 'exec 5<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n" "$2" "$1" >&5
        cat <&5' _ "$port" "$1"
}
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$server_pid/status" 2>/dev/null; }
fds() { find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
gauges=(anonchat_connections anonchat_queued_users anonchat_active_rooms anonchat_away_users
    anonchat_messages_stored_total)
db_kb() { du -k "$tmp/chat.db" 2>/dev/null | cut -f1; }
header() {
    printf '%8s %9s %6s %7s %7s %7s %7s %9s %8s\n' elapsed rss_kib fds conns queued rooms away \
        stored db_kib
}
# row LABEL: prints one row (descriptors and RSS first, so the /metrics request is not counted)
# and sets last_rss, last_fds, last_conns and last_db.
row() {
    local label=$1 metrics g v values=()
    last_fds=$(fds)
    last_rss=$(rss_kb)
    last_db=$(db_kb)
    metrics=$(http /metrics | tr -d '\r') || metrics=""
    for g in "${gauges[@]}"; do
        v=$(awk -v g="$g" '$1 == g { print $2 }' <<<"$metrics")
        values+=("${v:-?}")
    done
    last_conns=${values[0]}
    printf '%8s %9s %6s %7s %7s %7s %7s %9s %8s\n' "$label" "${last_rss:-?}" "$last_fds" \
        "${values[@]}" "${last_db:-?}" | tee -a "$results/rows.txt"
}

http /healthz >/dev/null || true # whatever a first request opens is in the baseline
sleep 1
echo "== soak: $users users, ${duration} s, a row every ${interval} s, warm-up ${warmup} s$( ((smoke)) && echo ' (smoke)') =="
echo "server: $server_bin (pid $server_pid); results in $results"
header | tee "$results/rows.txt"
row before
base_fds=$last_fds

# ---- the load ---------------------------------------------------------------------------------
"$soak_bin" --url "ws://127.0.0.1:$port/ws" --users "$users" --duration "$duration" \
    --progress "$interval" >"$results/driver.txt" 2>"$results/driver.log" &
driver_pid=$!
start=$SECONDS
warm_rss=""
end_rss=""
cache_t=""
cache_rss=""
for ((t = interval; t <= duration; t += interval)); do
    sleep $((start + t - SECONDS > 0 ? start + t - SECONDS : 0))
    kill -0 "$server_pid" 2>/dev/null || break
    row "${t}s"
    [[ -z $warm_rss && $t -ge $warmup ]] && warm_rss=$last_rss
    if [[ -z $cache_t && ${last_db:-0} -ge $sqlite_cache_kb ]]; then
        cache_t=$t
        cache_rss=$last_rss
    fi
    end_rss=$last_rss
done
driver_status=0
wait "$driver_pid" || driver_status=$?
driver_pid=""

# ---- after: the clients are gone -------------------------------------------------------------
for _ in $(seq 60); do
    (($(fds) <= base_fds + slack)) && break
    sleep 0.5
done
sleep 1
row after

# ---- the judgement ----------------------------------------------------------------------------
status=0
verdict() { # OK(0/1) DECIDES(0/1) TEXT
    if (($1)); then
        echo "PASS $3"
    elif (($2)); then
        echo "FAIL $3"
        status=1
    else
        echo "FAIL (not judged) $3"
    fi
}
cat "$results/driver.txt"
# RSS is judged from the later of the warm-up and the page cache's filling: before that it grows
# with the database, by design (the cache is bounded: 32 MiB).
if [[ -n $cache_t && $cache_t -lt $duration && -n $warm_rss ]]; then
    from_t=$((cache_t > warmup ? cache_t : warmup))
    from_rss=$((cache_t > warmup ? cache_rss : warm_rss))
    growth=$(awk -v a="$from_rss" -v b="$end_rss" 'BEGIN { printf "%.1f", 100 * (b - a) / a }')
    ok=$(awk -v g="$growth" 'BEGIN { print (g < 5) ? 1 : 0 }')
    verdict "$ok" $((!smoke)) "RSS from ${from_t}s (warm-up over, SQLite's page cache full) to the end: $from_rss KiB -> $end_rss KiB ($growth%, under 5%)"
elif [[ -n $warm_rss && -n $end_rss && $warm_rss -gt 0 ]]; then
    growth=$(awk -v a="$warm_rss" -v b="$end_rss" 'BEGIN { printf "%.1f", 100 * (b - a) / a }')
    ok=$(awk -v g="$growth" 'BEGIN { print (g < 5) ? 1 : 0 }')
    verdict "$ok" $((!smoke)) "RSS after the warm-up: $warm_rss KiB -> $end_rss KiB ($growth%, under 5%; the database ($last_db KiB) did not outgrow SQLite's 32 MiB page cache, which grows with it: run longer to judge past it)"
else
    verdict 0 $((!smoke)) "RSS after the warm-up: not sampled (the run is shorter than the warm-up and one interval)"
fi
verdict $((last_fds <= base_fds + slack)) 1 "descriptors: $base_fds before the load, $last_fds after (at most +$slack)"
verdict "$([[ $last_conns == 0 ]] && echo 1 || echo 0)" 1 "anonchat_connections after the clients left: $last_conns"
alive=0
http /healthz | head -1 | grep -q ' 200 ' && alive=1
verdict "$alive" 1 "server alive: GET /healthz 200"
verdict $((driver_status == 0)) 1 "driver: no failure (exit $driver_status; see the PROBLEM lines above)"
kill -TERM "$server_pid"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=""
verdict $((server_status == 0)) 1 "server stops on SIGTERM with exit 0 (exit $server_status)"
exit "$status"
