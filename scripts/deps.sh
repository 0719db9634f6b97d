#!/bin/sh
# Installs what herald needs to build and test on Debian 12, if missing.
# Runs as root (or through sudo when it is available).
set -eu

# systemd brings systemd-analyze, which checks contrib/systemd/herald.service.
# clang and libclang-rt-14-dev (libFuzzer and the sanitizers' runtime) build
# the fuzz targets of tests/fuzz (scripts/fuzz.sh).
packages="build-essential cmake pkg-config libev-dev libcurl4-openssl-dev
libjansson-dev libsqlite3-dev libmicrohttpd-dev libsodium-dev
clang-format python3 python3-aiosmtpd curl ca-certificates sqlite3
systemd clang libclang-rt-14-dev"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
        grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing:$missing"
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
