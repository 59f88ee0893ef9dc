#!/bin/sh
# Installs, with apt-get, every Debian 12 package that building, running and testing
# libtgbotapi needs and that is not installed yet. Safe to run again: it installs
# nothing when everything is there. Needs root or sudo when something is missing.
set -eu

# build and library dependencies
PACKAGES="build-essential cmake pkg-config libssl-dev zlib1g-dev libsqlite3-dev
libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev"
# tests: clang + its runtime for libFuzzer and sanitizer builds; Telethon (an MTProto
# client nobody here wrote) against the emulator, run by Debian's /usr/bin/python3
PACKAGES="$PACKAGES clang libclang-rt-14-dev python3-telethon"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-deps: run as root (or install sudo) to install:$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
