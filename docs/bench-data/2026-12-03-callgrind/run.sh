#!/usr/bin/env bash
# usage: run.sh LABEL BINARY "SERVER FLAGS" "BENCH FLAGS"  -> user-space instructions per stored message
set -uo pipefail
label=$1; bin=$2; sflags=$3; bflags=$4
bench=/work/main/build-test/tests/bench/anonchat-bench
d=/tmp/cg/$label; rm -rf $d; mkdir -p $d
valgrind --tool=callgrind --callgrind-out-file=$d/cg.out $bin --port 0 --db $d/chat.db --rate-limit 0 --max-connections-per-address 0 --threads 1 $sflags > $d/srv.out 2>$d/srv.err &
pid=$!
for i in $(seq 300); do grep -q http $d/srv.out && break; sleep 0.2; done
port=$(grep -o 'http://127.0.0.1:[0-9]*' $d/srv.out | head -1); port=${port##*:}
$bench --url ws://127.0.0.1:$port/ws --json $bflags --duration 40 --warmup 2 > $d/bench.json 2>$d/bench.err &
bpid=$!
stored() { curl -s http://127.0.0.1:$port/metrics | awk '$1=="anonchat_messages_stored_total"{print $2}'; }
commits() { curl -s http://127.0.0.1:$port/metrics | awk '$1=="anonchat_commit_seconds_count"{print $2}'; }
sleep 15
callgrind_control -z $pid >/dev/null
m0=$(stored); c0=$(commits)
sleep 15
callgrind_control -d $pid >/dev/null
m1=$(stored); c1=$(commits)
kill -KILL $bpid 2>/dev/null; kill -TERM $pid; wait $pid 2>/dev/null
f=$(ls -t $d/cg.out* | grep -v "cg.out$" | head -1)
ir=$(callgrind_annotate $f 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
echo "$label msgs=$((m1-m0)) commits=$((c1-c0)) Ir=$ir Ir/msg=$(( ir / (m1-m0) ))" | tee -a /tmp/cg/summary.txt
