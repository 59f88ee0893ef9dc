#!/bin/sh
# The README's first command: installs what is missing, builds, and starts the server.
# Arguments are passed to telegram-bot-api.
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
# The HTTP server is not there yet (see README "Status"); until it is, show its options.
[ $# -eq 0 ] && set -- --help
exec build/bin/telegram-bot-api "$@"
