#!/bin/sh
# examples/poll_session (the engine on a plain poll() loop) against a fresh
# telegram-emulator: it must create a key and print DC 2's nearestDc as JSON.
#   check_example_poll.sh BIN_DIR
set -eu
bin=$1
dir=$(mktemp -d)
"$bin/telegram-emulator" --dir "$dir" >"$dir/ready" &
emu=$!
trap 'kill $emu 2>/dev/null; wait $emu 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do grep -q ready "$dir/ready" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*DC 2 [0-9.]*:\([0-9]*\).*/\1/p' "$dir/ready")
out=$("$bin/poll_session" 127.0.0.1 "$port" "$dir/public.pem" 2)
expected='{"_":"nearestDc","country":"NL","this_dc":2,"nearest_dc":2}'
[ "$out" = "$expected" ] || { echo "got: $out" >&2; exit 1; }
echo "poll_session: $out"
