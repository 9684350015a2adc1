#!/usr/bin/env bash
# Benchmarks anonchat-server against a minimal Node.js relay (tests/bench/baseline: what a
# developer would write instead, storing nothing) under the same anonchat-bench loads, and prints
# one table. Loopback only, bounded, stops by itself.
#   scripts/bench.sh           the full run (a few minutes)
#   scripts/bench.sh --quick   a tiny run, a smoke test for CI: it never judges the numbers
# ANONCHAT_BENCH_BUILD: the build directory (default build-test, RelWithDebInfo, as scripts/test.sh
# builds it); it is configured and built here when needed. The raw results and the table stay in
# $ANONCHAT_BENCH_BUILD/bench-results/. ANONCHAT_BENCH_SERVER_ARGS: extra anonchat-server flags
# (e.g. "--threads 1"; by default it runs one thread per core). ANONCHAT_BENCH_PREVIOUS: another
# anonchat-server binary (an earlier commit's build) run through the same loads in the same run, a
# column of its own; ANONCHAT_BENCH_PREVIOUS_LABEL names it in the table (default: its path).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=scripts/bench-common.sh
. "$root/scripts/bench-common.sh"

# ---- build and dependencies -------------------------------------------------------------------
bench_setup scripts/bench.sh "$@"
sanitized=$(sed -n 's/^ANONCHAT_[AU][A-Z]*SAN:BOOL=//p' "$build/CMakeCache.txt" | grep -c ON || true)

# The baseline runs from a copy in the build directory, so node_modules stays out of the sources.
baseline=$build/bench-baseline
mkdir -p "$baseline"
for f in package.json package-lock.json relay.js; do
    cp "$root/tests/bench/baseline/$f" "$baseline/$f"
done
if ! cmp -s "$baseline/package-lock.json" "$baseline/node_modules/.package-lock-copy.json" 2>/dev/null; then
    (cd "$baseline" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$baseline/package-lock.json" "$baseline/node_modules/.package-lock-copy.json"
fi

# 10,000 connections need more descriptors than the usual soft limit: for both servers and the
# load generator (which raises its own as well).
ulimit -n "$(ulimit -Hn)"

# ---- the loads --------------------------------------------------------------------------------
# name, title, anonchat-bench flags
if ((quick)); then
    scenarios=(
        "pp-small|20 pairs ping-pong|--pairs 20 --duration 2 --warmup 0.5"
        "pp-large|50 pairs ping-pong|--pairs 50 --duration 2 --warmup 0.5"
        "rate|100 clients × 5 msg/s|--pairs 50 --rate 5 --duration 2 --warmup 0.5"
        "crowd|400 clients × 0.5 msg/s|--pairs 200 --rate 0.5 --duration 2 --warmup 0.5"
        "one|1 pair, no idle|--pairs 1 --duration 2 --warmup 0.5"
        "idle|200 idle + 1 pair|--idle 200 --sources 4 --idle-measure 1 --pairs 1 --duration 2 --warmup 0.5"
        "join|200 users joining at once|--pairs 100 --duration 0"
    )
else
    scenarios=(
        "pp-small|200 pairs ping-pong|--pairs 200 --duration 10 --warmup 2"
        "pp-large|500 pairs ping-pong|--pairs 500 --duration 10 --warmup 2"
        "rate|1,000 clients × 5 msg/s|--pairs 500 --rate 5 --duration 10 --warmup 2"
        "crowd|10,000 clients × 0.5 msg/s|--pairs 5000 --rate 0.5 --duration 10 --warmup 3"
        "one|1 pair, no idle|--pairs 1 --duration 10 --warmup 2"
        "idle|19k idle + 1 pair|--idle 19000 --sources 4 --idle-measure 3 --pairs 1 --duration 10 --warmup 2"
        "join|19k users joining at once|--pairs 9500 --duration 0"
    )
fi
# The idle load holds 19,002 connections: about what a process may hold on a machine whose hard
# open-file limit is 20,000 (anonchat-server keeps 328 of those for itself and for plain requests;
# anonchat-bench needs 19,066). Rate loads: every user sends at the given rate, from a random
# phase.

results=$build/bench-results
rm -rf "$results"
mkdir -p "$results"
tmp=$(mktemp -d)
server_pid=""
drain_pid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [[ -n $server_pid ]]; then
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# anonchat's per-address connection limit (if this version has one) would refuse the load.
anonchat_flags=(--rate-limit 0)
if "$server_bin" --help 2>/dev/null | grep -q -- '--max-connections-per-address'; then
    anonchat_flags+=(--max-connections-per-address 0)
fi
# Extra flags for anonchat-server, e.g. ANONCHAT_BENCH_SERVER_ARGS="--threads 1".
read -r -a extra_flags <<<"${ANONCHAT_BENCH_SERVER_ARGS:-}"
anonchat_flags+=("${extra_flags[@]}")

now_us() { echo "${EPOCHREALTIME//[.,]/}"; }

# start_server anonchat|baseline: sets server_pid and server_url; appends the time from launch to
# the printed URL to $results/startup.<server>.
start_server() {
    local kind=$1 fifo=$tmp/stdout line t0 t1
    mkfifo "$fifo"
    t0=$(now_us)
    if [[ $kind == anonchat || $kind == previous ]]; then
        local db bin=$server_bin
        [[ $kind == previous ]] && bin=$previous_bin
        db=$(mktemp -u "$tmp/chat-XXXXXX.db")
        "$bin" --port 0 --db "$db" "${anonchat_flags[@]}" >"$fifo" 2>>"$results/$kind.log" &
    else
        node "$baseline/relay.js" 0 >"$fifo" 2>>"$results/$kind.log" &
    fi
    server_pid=$!
    exec 3<"$fifo"
    if ! read -r -t 30 line <&3; then
        echo "bench: $kind did not print its URL; see $results/$kind.log" >&2
        exit 1
    fi
    t1=$(now_us)
    cat <&3 >>"$results/$kind.log" &
    drain_pid=$!
    exec 3<&-
    rm -f "$fifo"
    echo $(((t1 - t0) / 1000)) >>"$results/startup.$kind"
    [[ $line =~ (http://127\.0\.0\.1:[0-9]+)/ ]] || {
        echo "bench: unexpected first line from $kind: $line" >&2
        exit 1
    }
    server_url="ws://${BASH_REMATCH[1]#http://}/ws"
}

stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    wait "$drain_pid" 2>/dev/null || true
    server_pid=""
}

kinds=(anonchat baseline)
previous_bin=${ANONCHAT_BENCH_PREVIOUS:-}
if [[ -n $previous_bin ]]; then
    [[ -x $previous_bin ]] || {
        echo "bench: ANONCHAT_BENCH_PREVIOUS=$previous_bin is not an executable" >&2
        exit 2
    }
    kinds=(anonchat previous baseline)
    echo "${ANONCHAT_BENCH_PREVIOUS_LABEL:-$previous_bin}" >"$results/previous.label"
fi

echo "== anonchat vs Node.js relay ($( ((quick)) && echo quick || echo full) run) =="
load_before=$(uptime | sed 's/.*load average: //')
printf '' >"$results/scenarios"
status=0
for s in "${scenarios[@]}"; do
    IFS='|' read -r name title flags <<<"$s"
    printf '%s\t%s\n' "$name" "$title" >>"$results/scenarios"
    for kind in "${kinds[@]}"; do
        start_server "$kind"
        echo "-- $title: $kind"
        # shellcheck disable=SC2086 # flags are words on purpose
        if ! "$bench_bin" --url "$server_url" --server-pid "$server_pid" --json $flags \
            >"$results/$name.$kind.json" 2>>"$results/bench.log"; then
            status=1
        fi
        stop_server
        sleep 0.5 # let the kernel settle the closed connections
    done
done
load_after=$(uptime | sed 's/.*load average: //')

{
    echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
        "Qt $(qtpaths6 --qt-version 2>/dev/null || echo '?'), node $(node --version)," \
        "ws $(node -p "require('$baseline/node_modules/ws/package.json').version")," \
        "anonchat build: ${build_type:-?}$( ((sanitized)) && echo ' with sanitizers')"
    echo "load average before: $load_before; after: $load_after"
    echo
} >"$results/table.md"
node "$root/tests/bench/report.mjs" "$results" >>"$results/table.md" || status=1
cat "$results/table.md"
echo "chart (docs/performance.md), with the data kept in the repo: cd $root && d=docs/bench-data/$(date +%F) && mkdir -p \$d && cp $results/{*.json,startup.*,scenarios,table.md$([[ -n $previous_bin ]] && echo ,previous.label)} \$d/ && node scripts/perf-chart.mjs \$d docs/performance.svg"
exit "$status"
