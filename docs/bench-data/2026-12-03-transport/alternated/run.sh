#!/usr/bin/env bash
# usage: run.sh OUTDIR SCENARIO_FLAGS REPEATS VARIANT...   VARIANT = label|binary|flags|template-db-or-empty
# Variant "relay" runs the Node relay.
set -uo pipefail
out=$1; flags=$2; reps=$3; shift 3
mkdir -p "$out"
bench=/work/main/build-test/tests/bench/anonchat-bench
ulimit -n "$(ulimit -Hn)"
for r in $(seq "$reps"); do
for v in "$@"; do
  IFS='|' read -r label bin sflags tmpl <<<"$v"
  rm -rf /tmp/exp/db; mkdir -p /tmp/exp/db
  if [[ $label == relay ]]; then
    node /work/main/tests/bench/baseline/relay.js 0 > /tmp/exp/srv.out 2>&1 &
  else
    [[ -n $tmpl ]] && cp "$tmpl" /tmp/exp/db/chat.db
    $bin --port 0 --db /tmp/exp/db/chat.db --rate-limit 0 --max-connections-per-address 0 $sflags > /tmp/exp/srv.out 2>/tmp/exp/srv.err &
  fi
  pid=$!
  for i in $(seq 100); do grep -q http /tmp/exp/srv.out && break; sleep 0.1; done
  url=$(grep -o 'http://127.0.0.1:[0-9]*' /tmp/exp/srv.out | head -1); url="ws://${url#http://}/ws"
  $bench --url "$url" --server-pid $pid --json $flags > "$out/$label.$r.json" 2>>"$out/bench.err"
  kill -TERM $pid; wait $pid 2>/dev/null
  node -e '
    const r=JSON.parse(require("fs").readFileSync(process.argv[1]));
    const s=r.server||{};
    console.log([process.argv[2], "cpu_us/msg", (s.cpu_us_per_message||0).toFixed(1), "p50", r.latency_ms.p50.toFixed(2), "p99", r.latency_ms.p99.toFixed(2), "msg/s", r.messages_per_s.toFixed(0), "commits/s", (s.commits_per_s||0).toFixed(0), "rows/commit", (s.rows_per_commit||0).toFixed(2), "ok", r.ok, (r.problems||[]).join(";")].join(" "))' "$out/$label.$r.json" "$label" | tee -a "$out/summary.txt"
  sleep 1
done
done
