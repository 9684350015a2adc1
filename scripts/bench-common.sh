# Sourced by scripts/bench.sh and scripts/bench-cluster.sh (with `root` set): reads their one
# option, --quick, and builds what they run.
#   bench_setup USAGE "$@"   sets quick (0/1), build (ANONCHAT_BENCH_BUILD, default build-test,
#                            configured here when new), server_bin, bench_bin and build_type,
#                            with anonchat-server and anonchat-bench built
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
    build=${ANONCHAT_BENCH_BUILD:-$root/build-test}
    server_bin=$build/server/anonchat-server
    bench_bin=$build/tests/bench/anonchat-bench
    if [[ ! -f $build/CMakeCache.txt ]]; then
        cmake -S "$root" -B "$build" -G Ninja \
            -DCMAKE_BUILD_TYPE="${ANONCHAT_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
    fi
    cmake --build "$build" -j"$(nproc)" --target anonchat-server anonchat-bench
    build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
}
