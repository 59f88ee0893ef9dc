#!/bin/sh
# Builds libtgbotapi and runs every test. This is the README's test command and what
# .ci/run runs on a fresh Debian 12 machine.
#   1. installs missing Debian packages (tools/install-deps.sh)
#   2. gcc build, -Werror: unit tests, corpus replays, build checks (ctest)
#   3. clang build with AddressSanitizer + UndefinedBehaviorSanitizer: the same tests
#   4. a short libFuzzer run of every fuzz target (TGB_FUZZ_SECONDS, default 20)
#   5. clang-format check; a brief run of every benchmark, so they keep working
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
tools/install-deps.sh

step "build (gcc)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

step "build (clang, address + undefined sanitizers)"
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DTGB_SANITIZE=address,undefined \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ctest --test-dir build-asan --output-on-failure -j"$jobs" -L 'unit|fuzz|interop'

step "fuzzing (libFuzzer, ${TGB_FUZZ_SECONDS:-20} s per target)"
fuzz/run.sh "${TGB_FUZZ_SECONDS:-20}"

step "format"
tools/format.sh --check

step "benchmarks (brief; figures are in docs/benchmarks.md)"
bench/run.sh --brief

step "all tests passed"
