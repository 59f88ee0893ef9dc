#!/bin/sh
# Installs the build into a scratch prefix and builds examples/hello_tgbotapi.c against
# it twice, with pkg-config and with CMake's find_package, then runs both (shared and
# static). What a user of the installed library does, in miniature.
#   check_install.sh SOURCE_DIR BUILD_DIR
set -eu
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib*/ | head -n 1)

# pkg-config
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
cc -std=c11 -Wall -Werror "$src/examples/hello_tgbotapi.c" \
    $(pkg-config --cflags --libs tgbotapi) -o "$tmp/hello_pkgconfig"
LD_LIBRARY_PATH=$libdir "$tmp/hello_pkgconfig"
cc -std=c11 -Wall -Werror "$src/examples/hello_tgbotapi.c" \
    $(pkg-config --cflags tgbotapi) "$libdir/libtgbotapi.a" \
    $(pkg-config --static --libs-only-l tgbotapi | sed 's/-ltgbotapi//') -o "$tmp/hello_static_pc"
"$tmp/hello_static_pc"

# find_package
cmake -S "$src/examples/installed" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
    >/dev/null
cmake --build "$tmp/consumer" >/dev/null
LD_LIBRARY_PATH=$libdir "$tmp/consumer/hello_shared"
"$tmp/consumer/hello_static"
echo "installed library consumed with pkg-config and find_package"
