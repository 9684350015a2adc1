# Sourced by scripts/bench.sh, scripts/bench-cluster.sh and scripts/soak.sh (with `root` set):
# reads the benchmarks' one option, --quick, and builds what they run.
#   bench_setup USAGE "$@"   sets quick (0/1) and what bench_build sets, with anonchat-server and
#                            anonchat-bench built; bench_bin is anonchat-bench
#   bench_build TARGET...    sets build (ANONCHAT_BENCH_BUILD, default build-test, configured here
#                            when new), server_bin and build_type; builds the targets
#   cluster_services_start DIR   a throw-away Redis and PostgreSQL under DIR (scripts/redis.sh,
#                            scripts/pg.sh); sets redis_url and pg_url
#   cluster_services_stop DIR    stops them (for an EXIT trap: never fails)
# shellcheck shell=bash disable=SC2034 # the variables are the callers'
bench_setup() {
    local usage=$1
    shift
    quick=0
    case "${1:-}" in
    "") ;;
    --quick) quick=1 ;;
    *)
        echo "usage: $usage [--quick]" >&2
        exit 2
        ;;
    esac
    bench_build anonchat-server anonchat-bench
    bench_bin=$build/tests/bench/anonchat-bench
}

bench_build() {
    build=${ANONCHAT_BENCH_BUILD:-$root/build-test}
    server_bin=$build/server/anonchat-server
    if [[ ! -f $build/CMakeCache.txt ]]; then
        cmake -S "$root" -B "$build" -G Ninja \
            -DCMAKE_BUILD_TYPE="${ANONCHAT_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
    fi
    cmake --build "$build" -j"$(nproc)" --target "$@"
    build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
}

cluster_services_start() {
    "$root/scripts/redis.sh" start "$1/redis" >/dev/null
    "$root/scripts/pg.sh" start "$1/pg" >/dev/null
    redis_url=$(<"$1/redis/url")
    pg_url=$(<"$1/pg/url")
}

cluster_services_stop() {
    "$root/scripts/redis.sh" stop "$1/redis" >/dev/null 2>&1 || true
    "$root/scripts/pg.sh" stop "$1/pg" >/dev/null 2>&1 || true
}
