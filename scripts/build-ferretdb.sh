#!/usr/bin/env bash
# Build FerretDB (the MongoDB wire-protocol server the tests start) into ~/.cache/flowql/bin,
# or reuse the binary there when it already reports the right version.
#
# `go install github.com/FerretDB/FerretDB/cmd/ferretdb@VERSION` alone builds a binary that
# panics at start-up: the module zip lacks build/version/version.txt, which FerretDB reads
# when it is the main module. So this builds the same module source, from Go's module cache
# (fetched through the module proxy), with that one file written in, CGO_ENABLED=0.
set -euo pipefail
VERSION=v1.24.2
BIN_DIR="${FLOWQL_BIN_DIR:-$HOME/.cache/flowql/bin}"
BIN="$BIN_DIR/ferretdb"

# `--version` prints several lines: read them whole (grep -q closing the pipe early makes the
# binary die of SIGPIPE, which pipefail reports as a mismatch).
reports_version() { local out; out=$("$1" --version 2>/dev/null) || return 1; grep -qx "version: $VERSION" <<<"$out"; }

if [ -x "$BIN" ] && reports_version "$BIN"; then
    echo "ferretdb $VERSION: reusing $BIN"
    exit 0
fi
command -v go >/dev/null 2>&1 || { echo "go not found: needed to build ferretdb $VERSION" >&2; exit 1; }

echo "ferretdb $VERSION: building into $BIN (a few minutes the first time)"
src=$(go mod download -json "github.com/FerretDB/FerretDB@$VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$src" ] || { echo "go mod download gave no source directory" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/src"
chmod -R u+w "$work/src"
echo "$VERSION" > "$work/src/build/version/version.txt"
mkdir -p "$BIN_DIR"
(cd "$work/src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -o "$BIN.tmp" ./cmd/ferretdb)
mv "$BIN.tmp" "$BIN"
reports_version "$BIN" || { echo "built ferretdb does not report $VERSION" >&2; exit 1; }
echo "ferretdb $VERSION: built $BIN"
