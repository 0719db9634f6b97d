#!/bin/sh
# Formats every C file with the repository's .clang-format, or with
# --check reports the files that are not formatted and fails.
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find core include plugins tests bench -name '*.[ch]')
if [ "${1:-}" = "--check" ]; then
    # shellcheck disable=SC2086
    clang-format --dry-run --Werror $files
else
    # shellcheck disable=SC2086
    clang-format -i $files
fi
