#!/usr/bin/env bash
# Fuzzes the frame decoder, the HTTP request-head parser and the interest normaliser with
# libFuzzer under AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer (tests/fuzz).
#   scripts/fuzz.sh [SECONDS]    SECONDS per target, default 60
# Builds into build-fuzz with clang (installed from Debian when missing), fuzzes a copy of the
# seed corpus there (nothing is written into the repo) and exits non-zero on any crash, leak,
# timeout, out-of-memory or sanitizer report, naming the input that caused it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }
build="$root/build-fuzz"
jobs=${ANONCHAT_JOBS:-$(nproc)}

"$root/scripts/setup.sh"
# clang, and libFuzzer with the sanitizer runtimes (Debian 12: libclang-rt-14-dev).
missing=()
for p in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "fuzz: installing ${missing[*]}"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DANONCHAT_FUZZ=ON -DANONCHAT_BUILD_CLIENT=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target anonchat_fuzz

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
for name in fuzz_frame fuzz_http fuzz_interests; do
    what=${name#fuzz_}
    work="$build/fuzz-run/$name"
    rm -rf "$work"
    mkdir -p "$work/artifacts"
    cp -r "$root/tests/fuzz/corpus/$what" "$work/corpus"
    log="$work/log.txt"
    rc=0
    "$build/tests/fuzz/$name" "$work/corpus" \
        -max_total_time="$seconds" -dict="$root/tests/fuzz/$what.dict" -timeout=5 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    inputs=$(find "$work/corpus" -type f | wc -l)
    # A sanitizer report is a failure even if the process somehow exited 0.
    if ((rc == 0)) && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log"; then
        echo "$name: ${runs:-?} runs in ${took:-$seconds} s, no crash (corpus: $inputs inputs)"
    else
        status=1
        echo "$name: FAILED after ${runs:-?} runs (exit $rc); log: $log"
        grep -E 'ERROR:|runtime error:|SUMMARY:|^fuzz_|Test unit written to' "$log" | head -n 20 | sed 's/^/  /'
        for artifact in "$work/artifacts"/*; do
            [[ -e "$artifact" ]] || continue
            echo "  input: $artifact (rerun: $build/tests/fuzz/$name $artifact)"
        done
    fi
done
exit "$status"
