#!/bin/sh
# AES-256-IGE throughput of the crypto module next to `openssl speed -evp aes-256-cbc`
# (CBC encryption), measured in the same run. Builds nothing.
#
# Usage: bench/run_aes.sh BIN_DIR [ROUNDS]
#   BIN_DIR  the build's bin/ directory, holding bench_aes
#   ROUNDS   how many times to measure everything (default 3); each figure is the best
#            of its rounds, which filters out a busy or shared machine's slow moments
#
# Units: MB/s with 1 MB = 10^6 bytes. `openssl speed` prints thousands of bytes per
# second ("925614.08k" = 925614.08 * 1000 B/s), so its figure is divided by 1000.
set -eu

bin=${1:?usage: $0 BIN_DIR [ROUNDS]}
rounds=${2:-3}
bench="$bin/bench_aes"
[ -x "$bench" ] || { echo "$0: no executable $bench" >&2; exit 1; }
command -v openssl >/dev/null || { echo "$0: openssl not found" >&2; exit 1; }

sizes="64 1024 16384"
results=$(mktemp)
trap 'rm -f "$results"' EXIT

i=1
while [ "$i" -le "$rounds" ]; do
    for size in $sizes; do
        # Last line: "AES-256-CBC     925614.08k"
        k=$(openssl speed -evp aes-256-cbc -seconds 1 -bytes "$size" 2>/dev/null |
            awk '/^AES-256-CBC/ { v = $NF } END { sub(/k$/, "", v); print v }')
        [ -n "$k" ] || { echo "$0: could not parse openssl speed output" >&2; exit 1; }
        echo "openssl-cbc $size $(awk -v k="$k" 'BEGIN { printf "%.1f", k / 1000 }')" >>"$results"
    done
    "$bench" 1 | grep -v '^#' >>"$results"
    i=$((i + 1))
done

echo "AES-256, MB/s (1 MB = 10^6 bytes), best of $rounds round(s) of ~1 s per figure"
openssl version
echo
awk -v sizes="$sizes" '
    { if ($3 > best[$1 " " $2]) best[$1 " " $2] = $3 }
    END {
        n = split(sizes, sz, " ")
        printf "%-8s %11s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "size", "openssl-cbc",
               "our-cbc", "ige-enc", "ige-dec", "dec-evp", "enc+dec", "enc/cbc", "dec/cbc",
               "enc/our", "dec/our"
        for (i = 1; i <= n; i++) {
            s = sz[i]
            ref = best["openssl-cbc " s]
            our = best["cbc-encrypt " s]
            printf "%-8s %11.1f %8.1f %8.1f %8.1f %8.1f %8.1f %8.2f %8.2f %8.2f %8.2f\n", s " B",
                   ref, our, best["ige-encrypt " s], best["ige-decrypt " s],
                   best["ige-decrypt-evp " s], best["ige-enc+dec " s], best["ige-encrypt " s] / ref,
                   best["ige-decrypt " s] / ref, best["ige-encrypt " s] / our,
                   best["ige-decrypt " s] / our
        }
        print ""
        print "openssl-cbc: openssl speed -evp aes-256-cbc (one key, no re-keying)"
        print "our-cbc, ige-*: crypto module calls, re-keyed on every call as MTProto does"
        print "ige-dec: AES-NI where the CPU has it; dec-evp: the EVP fallback, one block per call"
        print "enc+dec: one message encrypted then decrypted, 1 / (1/enc + 1/dec)"
        print "enc/cbc, dec/cbc: IGE against openssl-cbc; the target is >= 0.90"
        print "enc/our, dec/our: IGE against our-cbc, i.e. with the same per-call re-keying"
    }' "$results"
