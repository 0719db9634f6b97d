#!/bin/sh
# Installs what is missing, then builds and runs the whole suite twice:
# once with warnings as errors, once under AddressSanitizer and
# UndefinedBehaviorSanitizer; then runs each fuzz target for a short
# while (scripts/fuzz.sh). Checks the formatting too.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/deps.sh"

echo "== formatting (clang-format, 79 columns)"
"$root/scripts/format.sh" --check

echo "== build and test"
"$root/scripts/build.sh" build -DHERALD_WERROR=ON
(cd build && ctest --output-on-failure -j 2)

echo "== build and test under ASan and UBSan"
"$root/scripts/build.sh" build-asan -DHERALD_WERROR=ON -DHERALD_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=Debug
(cd build-asan &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j 2)

fuzz_seconds=15
echo "== fuzz (libFuzzer, $fuzz_seconds s per target)"
"$root/scripts/fuzz.sh" "$fuzz_seconds"
