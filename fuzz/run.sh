#!/bin/sh
# Builds the fuzz targets with clang + libFuzzer + ASan/UBSan and runs each for a while.
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target:
#   one per directory in fuzz/corpus/)
# New inputs go to build-fuzz/corpus/<target>/ (the committed seeds are read, not
# written). A crash stops the run with the reproducer's path; add it to
# fuzz/corpus/<target>/ with the fix so ctest replays it from then on.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
# every target that has a corpus directory, unless named
targets=${*:-$(ls fuzz/corpus)}

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DTGB_FUZZ=ON \
    -DTGB_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target $targets >/dev/null

for t in $targets; do
    work=build-fuzz/corpus/$t
    mkdir -p "$work" build-fuzz/crashes
    echo "fuzz: $t for ${seconds}s"
    ASAN_OPTIONS=detect_leaks=1 build-fuzz/bin/"$t" -max_total_time="$seconds" \
        -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix=build-fuzz/crashes/"$t"- "$work" fuzz/corpus/"$t" 2>&1 |
        grep -E "^#[0-9]+ *DONE|stat::number_of_executed_units|ERROR|SUMMARY|Test unit written" || true
    if ls build-fuzz/crashes/"$t"-* >/dev/null 2>&1; then
        echo "fuzz: $t found a crash: $(ls build-fuzz/crashes/"$t"-*)" >&2
        exit 1
    fi
done
