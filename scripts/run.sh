#!/bin/sh
# Installs what is missing, builds, and runs the daemon on its embedded
# default configuration: API on 127.0.0.1:8080, store and key in ./data.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh"
"$root/scripts/build.sh" "$root/build"
mkdir -p "$root/data"
cd "$root/data"
exec "$root/build/bin/herald" serve
