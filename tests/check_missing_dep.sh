#!/bin/sh
# A missing dependency stops the configure step with the Debian package to install.
# Simulated with a pkg-config that hides one module and answers for the rest.
#   check_missing_dep.sh SOURCE_DIR
set -eu
src=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
real=$(command -v pkg-config)
cat >"$tmp/pkg-config" <<EOS
#!/bin/sh
for a in "\$@"; do
    case \$a in jansson*) exit 1 ;; esac
done
exec "$real" "\$@"
EOS
chmod +x "$tmp/pkg-config"
if cmake -S "$src" -B "$tmp/build" -DPKG_CONFIG_EXECUTABLE="$tmp/pkg-config" >"$tmp/log" 2>&1; then
    echo "configure succeeded without jansson" >&2
    exit 1
fi
grep -q "Missing Debian packages: libjansson-dev" "$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
grep -q "apt-get install libjansson-dev" "$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
if grep -q "libssl-dev\|zlib1g-dev\|libsqlite3-dev" "$tmp/log"; then
    echo "packages that are installed were named as missing" >&2
    exit 1
fi
echo "configure names the missing package: libjansson-dev"
