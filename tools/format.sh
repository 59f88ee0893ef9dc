#!/bin/sh
# Applies .clang-format to our C sources, or with --check reports files that differ.
# Generated code (build*/) and fuzz corpora are not ours to format.
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h')
if [ "${1:-}" = "--check" ]; then
    bad=""
    for f in $files; do
        if ! clang-format --style=file "$f" | cmp -s - "$f"; then
            bad="$bad $f"
        fi
    done
    if [ -n "$bad" ]; then
        echo "not clang-formatted (run tools/format.sh):$bad" >&2
        exit 1
    fi
    echo "format: $(echo "$files" | wc -w) files clean"
else
    # shellcheck disable=SC2086
    clang-format --style=file -i $files
fi
