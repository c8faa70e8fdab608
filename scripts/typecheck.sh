#!/usr/bin/env bash
# mypy sees the source folders under their installed names (engine/ as flowql.engine, ...)
# through a tree of symlinks, so the strict settings for flowql.engine.* apply as written.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck
rm -rf "$tree" && mkdir -p "$tree/flowql"
for item in flowql/*; do
    [ "$(basename "$item")" = static ] || ln -s "$PWD/$item" "$tree/flowql/$(basename "$item")"
done
for package in engine storage schema resolvers; do
    ln -s "$PWD/$package" "$tree/flowql/$package"
done
MYPYPATH="$tree" "${MYPY:-.venv/bin/mypy}" -p flowql "$@"
