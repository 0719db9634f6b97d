#!/bin/sh
# Builds the libFuzzer targets of tests/fuzz with clang into build-fuzz
# and runs each for SECONDS (default 20) on a scratch copy of its seed
# corpus (tests/fuzz/corpus/<name>), so the checked-in corpus is left
# as it is. Fails when any target reports a crash, a leak or a sanitizer
# error; the input that did it is left in the scratch directory, named.
#   scripts/fuzz.sh [SECONDS]
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-20}"
targets="config post callback facebook instagram linkedin twitter"

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DHERALD_FUZZ=ON \
    -DHERALD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
programs=""
for name in $targets; do
    programs="$programs fuzz_$name"
done
# shellcheck disable=SC2086
cmake --build build-fuzz -j "$(nproc)" --target $programs

scratch="$(mktemp -d /tmp/herald-fuzz-XXXXXX)"
failed=""
for name in $targets; do
    mkdir -p "$scratch/$name/corpus" "$scratch/$name/found"
    cp "tests/fuzz/corpus/$name/"* "$scratch/$name/corpus/"
    echo "-- fuzz_$name, ${seconds} s"
    if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "build-fuzz/bin/fuzz_$name" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=1024 -print_final_stats=0 \
        -artifact_prefix="$scratch/$name/found/" \
        "$scratch/$name/corpus" >"$scratch/$name/log" 2>&1; then
        tail -n 60 "$scratch/$name/log"
        echo "fuzz_$name failed; the input: $(ls "$scratch/$name/found/")"
        failed="$failed $name"
    else
        tail -n 1 "$scratch/$name/log"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzzing failed:$failed (inputs kept in $scratch)"
    exit 1
fi
rm -rf "$scratch"
echo "fuzzing passed: $targets"
