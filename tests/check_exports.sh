#!/bin/sh
# The shared library exports exactly the functions the public header declares TGB_API,
# and nothing else (no internal tgb_<module>_ symbols, no dependency symbols).
#   check_exports.sh LIBRARY.so HEADER.h
set -eu
lib=$1 header=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRV]$/ {print $3}' | sort)
declared=$(grep -o '^TGB_API [^;(]*(' "$header" | sed 's/($//; s/.*[ *]//' | sort)
if [ "$exported" != "$declared" ]; then
    echo "exported symbols differ from the header's TGB_API declarations:" >&2
    diff -u /dev/fd/3 /dev/fd/4 3<<EOF3 4<<EOF4 >&2 || true
$declared
EOF3
$exported
EOF4
    exit 1
fi
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
case $soname in
    libtgbotapi.so.[0-9]*) ;;
    *) echo "unexpected SONAME '$soname'" >&2; exit 1 ;;
esac
echo "$(echo "$exported" | wc -l) exported symbols, all declared; SONAME $soname"
