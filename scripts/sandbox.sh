#!/bin/sh
# Installs what is missing, builds, and runs herald against the sandbox
# networks, so the whole flow can be tried without any real network:
# the sandbox networks on 127.0.0.1:8090 (tests/sandbox/run.py) and the
# daemon on 127.0.0.1:8081 with config/sandbox/herald.json, its store
# and key in ./data/sandbox. Ctrl-C stops both.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh"
"$root/scripts/build.sh" "$root/build"
mkdir -p "$root/data/sandbox"

python3 "$root/tests/sandbox/run.py" --port 8090 &
networks=$!
herald=""
stop() {
    trap - INT TERM EXIT
    if [ -n "$herald" ]; then
        kill -TERM "$herald" 2>/dev/null || true
        wait "$herald" || true
    fi
    kill -TERM "$networks" 2>/dev/null || true
    wait "$networks" || true
    exit 0
}
trap stop INT TERM EXIT

"$root/build/bin/herald" serve --config "$root/config/sandbox/herald.json" &
herald=$!
# Whichever ends first (or Ctrl-C) stops the other.
while kill -0 "$networks" 2>/dev/null && kill -0 "$herald" 2>/dev/null; do
    sleep 1
done
stop
