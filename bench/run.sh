#!/bin/sh
# Runs every benchmark and prints its figures, with the baselines measured in the same
# run. Figures, not tests: nothing here passes or fails on speed.
#   bench/run.sh [--brief] [BUILD_DIR]    (--brief: short runs, as CI does to keep them working)
set -eu
cd "$(dirname "$0")/.."
seconds=1 rounds=3
if [ "${1:-}" = "--brief" ]; then
    seconds=0.1 rounds=1
    shift
fi
build=${1:-build}
bin=$build/bin
[ -x "$bin/bench_tl" ] || { echo "build first: cmake --build $build" >&2; exit 1; }

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "== TL codec"
"$bin/bench_tl" "$seconds"
echo
echo "== AES-256-IGE vs openssl speed -evp aes-256-cbc"
bench/run_aes.sh "$bin" "$rounds"
echo
echo "== auth key creation (client and emulated DC in one process)"
"$bin/bench_handshake" "$seconds"
echo
echo "== MTProto round trips and idle session memory"
"$bin/bench_rpc" "$seconds"
