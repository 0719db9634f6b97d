#!/bin/sh
# Runs herald's benchmarks against a loopback X endpoint and prints a
# summary table; docs/performance.md explains each figure and method.
#
#   bench/run.sh
#
# Installs wrk (and herald's build dependencies) when missing, builds
# herald in Release mode in build-bench/ (tests off) and the bench tools
# in build-bench/bench/, then runs bench/bench.py. Sizes, and which phases
# run, come from the environment; the defaults take three to four minutes
# on two cores:
#
#   BENCH_DRAIN_POSTS=20000 BENCH_DRAIN_ACCOUNTS=2000 BENCH_CONCURRENCY=256
#   BENCH_WRK_SECONDS=10 BENCH_WRK_CONNECTIONS=64 BENCH_WRK_THREADS=2
#   BENCH_LATE_POSTS=500 BENCH_LATE_ACCOUNTS=200 BENCH_LATE_WINDOW_S=20
#   BENCH_MEM_POSTS=1000000 BENCH_MEM_ACCOUNTS=100000 BENCH_START_RUNS=3
#   BENCH_LOADED_TIMING=1 (0 skips the timing runs on the big store)
#   BENCH_PROFILE=1 (0 skips the diagnostic drains and profiled starts)
#   BENCH_PHASES=timing,baseline,drain,memory
#   BENCH_TIMEOUT_S=300 (the longest any one wait may take)
#   BENCH_DIR=<parent of the scratch directory> BENCH_KEEP=0
#   BENCH_OUT=build-bench/bench-results.json BENCH_LOG_LEVEL=info
#
# Everything listens on 127.0.0.1 and is stopped by its pid at the end.
# Exit status 0, or 1 when the build or a phase failed (a missed target
# is reported, not a failure).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

"$root/scripts/deps.sh"
if ! dpkg-query -W -f='${Status}' wrk 2>/dev/null |
    grep -q "install ok installed"; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: wrk"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk
fi

build="$root/build-bench"
echo "== build herald (Release) in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHERALD_TESTS=OFF \
    >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
echo "== build the bench tools in $build/bench"
cmake -S bench -B "$build/bench" -DHERALD_BUILD_DIR="$build" >/dev/null
cmake --build "$build/bench" >/dev/null

echo "== run"
BENCH_HERALD="$build/bin/herald" \
BENCH_PLUGINS="$build/lib/herald/plugins" \
BENCH_TOOLS="$build/bench" \
BENCH_OUT="${BENCH_OUT:-$build/bench-results.json}" \
    exec python3 "$root/bench/bench.py"
