#!/usr/bin/env bash
# The same chat load against (a) one anonchat-server on PostgreSQL + Redis, (b) two servers on the
# same PostgreSQL + Redis (every pair across the two), and (c) for reference one server on SQLite
# without Redis; prints one table side by side. A throw-away Redis and PostgreSQL are started in
# a temporary directory (scripts/redis.sh, scripts/pg.sh) and removed afterwards. Loopback only.
#   scripts/bench-cluster.sh           200 pairs ping-pong, 10 s measured (after 2 s of warm-up)
#   scripts/bench-cluster.sh --quick   20 pairs, 2 s: a smoke test, never judged
# ANONCHAT_BENCH_BUILD: the build directory (default build-test, as scripts/bench.sh); configured
# and built here when needed. Raw results: $ANONCHAT_BENCH_BUILD/bench-cluster-results/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=scripts/bench-common.sh
. "$root/scripts/bench-common.sh"
bench_setup scripts/bench-cluster.sh "$@"

if ((quick)); then
    load=(--pairs 20 --duration 2 --warmup 0.5)
    title="20 pairs ping-pong, 2 s"
else
    load=(--pairs 200 --duration 10 --warmup 2)
    title="200 pairs ping-pong, 10 s"
fi
# --interest-wait 60: the load generator pairs users across servers through one interest per
# pair; nobody is paired with just anyone while the pairs form.
server_flags=(--rate-limit 0 --max-connections-per-address 0 --interest-wait 60 --log-level warning)

results=$build/bench-cluster-results
rm -rf "$results"
mkdir -p "$results"
tmp=$(mktemp -d)
pids=()
drains=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    cluster_services_stop "$tmp"
    rm -rf "$tmp"
}
trap cleanup EXIT

cluster_services_start "$tmp"

# A fresh PostgreSQL database per run, so that no run writes into another's tables.
psql_bin=$(command -v psql || true)
for candidate in /usr/lib/postgresql/15/bin/psql /usr/lib/postgresql/*/bin/psql; do
    [[ -n $psql_bin ]] && break
    [[ -x $candidate ]] && psql_bin=$candidate
done
fresh_pg() {
    local name=$1
    "$psql_bin" -X -q -v ON_ERROR_STOP=1 "$pg_url" -c "CREATE DATABASE $name" >/dev/null
    echo "${pg_url%/*}/$name"
}

# CPU ticks (user + system) of Redis, and of PostgreSQL: the postmaster with its reaped children
# (backends that ended) and the live ones.
redis_pid=$(<"$tmp/redis/redis.pid")
postmaster_pid=$(head -1 "$(<"$tmp/pg/cluster")/data/postmaster.pid")
ticks() { # PID [with reaped children]
    local f
    f=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    # shellcheck disable=SC2086 # fields on purpose
    set -- "$2" $f
    if [[ $1 == 1 ]]; then echo $((${13} + ${14} + ${15} + ${16})); else echo $((${13} + ${14})); fi
}
pg_ticks() {
    local total pid
    total=$(ticks "$postmaster_pid" 1)
    for pid in $(ps -o pid= --ppid "$postmaster_pid"); do
        total=$((total + $(ticks "$pid" 0)))
    done
    echo "$total"
}

# start_server NAME FLAGS...: appends its pid to pids and its ws:// URL to urls.
start_server() {
    local name=$1 fifo=$tmp/$1.stdout line
    shift
    mkfifo "$fifo"
    "$server_bin" --port 0 "${server_flags[@]}" "$@" >"$fifo" 2>>"$results/$name.log" &
    pids+=("$!")
    exec 3<"$fifo"
    if ! read -r -t 30 line <&3; then
        echo "bench-cluster: $name did not print its URL; see $results/$name.log" >&2
        exit 1
    fi
    cat <&3 >>"$results/$name.log" &
    drains+=("$!")
    exec 3<&-
    rm -f "$fifo"
    [[ $line =~ http://(127\.0\.0\.1:[0-9]+)/ ]] || {
        echo "bench-cluster: unexpected first line from $name: $line" >&2
        exit 1
    }
    urls+=("ws://${BASH_REMATCH[1]}/ws")
}

stop_servers() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for pid in "${drains[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    pids=()
    drains=()
}

# run NAME: the servers in pids/urls under the load.
status=0
run() {
    local name=$1 joined_urls joined_pids
    joined_urls=$(IFS=,; echo "${urls[*]}")
    joined_pids=$(IFS=,; echo "${pids[*]}")
    echo "-- $name: ${#pids[@]} server(s)"
    local r0 p0 t0
    r0=$(ticks "$redis_pid" 0)
    p0=$(pg_ticks)
    t0=${EPOCHREALTIME/[.,]/}
    if ! "$bench_bin" --url "$joined_urls" --server-pid "$joined_pids" --json "${load[@]}" \
        >"$results/$name.json" 2>>"$results/bench.log"; then
        status=1
    fi
    stop_servers
    # Whole run (connecting, matching, warm-up, measuring, closing), as a share of one core.
    printf '{"wall_us":%s,"redis_ticks":%s,"pg_ticks":%s,"hz":%s}\n' \
        $((${EPOCHREALTIME/[.,]/} - t0)) $(($(ticks "$redis_pid" 0) - r0)) $(($(pg_ticks) - p0)) \
        "$(getconf CLK_TCK)" >"$results/$name.backing.json"
    sleep 0.5
}

load_before=$(uptime | sed 's/.*load average: //')
urls=()
start_server one-pg --db "$(fresh_pg bench_one)" --redis "$redis_url/1"
run one-pg
urls=()
db=$(fresh_pg bench_two)
start_server two-pg-1 --db "$db" --redis "$redis_url/2"
start_server two-pg-2 --db "$db" --redis "$redis_url/2"
run two-pg
urls=()
start_server one-sqlite --db "$tmp/chat.db"
run one-sqlite
load_after=$(uptime | sed 's/.*load average: //')

{
    echo "== anonchat: one server, two servers (one cluster), SQLite; $title =="
    echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
        "anonchat build: ${build_type:-?}; load average before: $load_before; after: $load_after"
    echo "The load generator (anonchat-bench) runs on the same cores as the servers, PostgreSQL"
    echo "and Redis: throughput is a lower bound, CPU per message is the figure to compare."
    echo
    node - "$results" <<'NODE'
const fs = require('fs');
const dir = process.argv[2];
const runs = [
  ['one-pg', '1 server, PostgreSQL + Redis'],
  ['two-pg', '2 servers, PostgreSQL + Redis'],
  ['one-sqlite', '1 server, SQLite, no Redis'],
];
const data = runs.map(([name]) => {
  try {
    const r = JSON.parse(fs.readFileSync(`${dir}/${name}.json`, 'utf8'));
    r.backing = JSON.parse(fs.readFileSync(`${dir}/${name}.backing.json`, 'utf8'));
    return r;
  } catch { return null; }
});
const share = (r, key) => 100 * (r.backing[key] / r.backing.hz) / (r.backing.wall_us / 1e6);
const fmt = (v, d) => v === undefined || v === null || Number.isNaN(v) ? 'n/a'
  : v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const rows = [
  ['messages/s delivered', r => fmt(r.messages_per_s, 0)],
  ['latency p50 ms', r => fmt(r.latency_ms.p50, 2)],
  ['latency p99 ms', r => fmt(r.latency_ms.p99, 2)],
  ['**server CPU µs per delivered message** (all servers)', r => fmt(r.server.cpu_us_per_message, 1)],
  ['server CPU % (all servers)', r => fmt(r.server.cpu_percent, 0)],
  ['server RSS MiB at the end (all servers)', r => fmt(r.server.rss_end_kb / 1024, 1)],
  ['load generator CPU %', r => fmt(r.bench_cpu_percent, 0)],
  ['PostgreSQL CPU %, whole run', r => fmt(share(r, 'pg_ticks'), 0)],
  ['Redis CPU %, whole run', r => fmt(share(r, 'redis_ticks'), 0)],
  ['pairs across servers', r => `${r.pairs_across_servers ?? 0} of ${r.pairs_matched}`],
  ['problems', r => r.ok ? 'none' : r.problems.join('; ')],
];
const header = ['', ...runs.map(([, title]) => title)];
const lines = rows.map(([label, f]) => [label, ...data.map(r => (r ? f(r) : 'failed'))]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map(l => l[i].length)));
const row = cells => '| ' + cells.map((c, i) => i ? c.padStart(widths[i]) : c.padEnd(widths[i])).join(' | ') + ' |';
console.log(row(header));
console.log('|' + widths.map((w, i) => (i ? '-'.repeat(w + 1) + ':' : ':' + '-'.repeat(w + 1))).join('|') + '|');
for (const l of lines) console.log(row(l));
NODE
} | tee "$results/table.md"
exit "$status"
