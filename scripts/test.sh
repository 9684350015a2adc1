#!/usr/bin/env bash
# Sets up and runs every test: the normal build, then the same suite under AddressSanitizer and
# UndefinedBehaviorSanitizer. Real SQLite files, real sockets, real headless Chromium.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" --test

# The browser test's driver (playwright-core drives Debian's /usr/bin/chromium; no browser download).
(cd "$root/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)

jobs=$(nproc)
echo "== normal build =="
"$root/scripts/build.sh" "$root/build-test"
(cd "$root/build-test" && QT_QPA_PLATFORM=offscreen ctest --output-on-failure -j"$jobs") | tee "$root/build-test/ctest.log"

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build =="
ANONCHAT_BUILD_TYPE=Debug "$root/scripts/build.sh" "$root/build-asan" -DANONCHAT_ASAN=ON -DANONCHAT_UBSAN=ON
(cd "$root/build-asan" && QT_QPA_PLATFORM=offscreen \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j"$jobs") | tee "$root/build-asan/ctest.log"

echo "== fuzzing =="
"$root/scripts/fuzz.sh" 60

echo "== benchmark smoke test =="
"$root/scripts/bench.sh" --quick
"$root/scripts/bench-cluster.sh" --quick
"$root/scripts/soak.sh" --smoke
"$root/scripts/soak-cluster.sh" --duration 30

# One closing line for CI: suites run in both builds (any failure above has already stopped us).
total=0
for log in "$root/build-test/ctest.log" "$root/build-asan/ctest.log"; do
    n=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$log")
    total=$((total + ${n:-0}))
done
echo "$total passed, 0 failed"
