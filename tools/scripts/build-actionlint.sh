#!/usr/bin/env bash
# Builds (or reuses) actionlint, the GitHub Actions workflow linter, from its Go module at the
# version tools/actionlint/go.mod requires (github.com/rhysd/actionlint), for the workspace-checks
# lint-workflows target. Cached OUTSIDE the repo, keyed by that version:
#   ${BITPIN_CACHE:-$HOME/.cache/bitpin}/actionlint/<version>/bin/actionlint
# A stamp (version + hash of go.mod, go.sum, tools.go + Go version) decides whether to rebuild; a
# warm cache returns at once. Env: BITPIN_CACHE (cache root), BITPIN_BUILD_NICE (nice level,
# default 10).
# Usage: tools/scripts/build-actionlint.sh [--print-bin]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC="$ROOT/tools/actionlint"
log() { echo "build-actionlint: $*" >&2; }
die() { echo "build-actionlint: ERROR: $*" >&2; exit 1; }

VERSION=$(sed -nE 's/^(require )?[[:space:]]*github.com\/rhysd\/actionlint (v[^ ]+)$/\2/p' "$SRC/go.mod" | head -n1)
[ -n "$VERSION" ] || die "cannot read the github.com/rhysd/actionlint version from $SRC/go.mod"
BIN="${BITPIN_CACHE:-$HOME/.cache/bitpin}/actionlint/$VERSION/bin"
if [ "${1:-}" = "--print-bin" ]; then echo "$BIN/actionlint"; exit 0; fi

command -v go >/dev/null || die "go is not on PATH (needs Go >= 1.25)"
NICE="${BITPIN_BUILD_NICE:-10}"
mkdir -p "$BIN"
STAMP="actionlint $VERSION $(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/tools.go" | sha256sum | cut -c1-16) $(go env GOVERSION)"
fresh() { [ -x "$BIN/actionlint" ] && [ "$(cat "$BIN/.stamp" 2>/dev/null)" = "$STAMP" ]; }
if fresh; then log "cached: $BIN/actionlint"; exit 0; fi

exec 9>"$BIN/.build.lock"
flock 9
if fresh; then log "built by another holder of the lock: $BIN/actionlint"; exit 0; fi

t0=$(date +%s)
TMP=$(mktemp -d "$BIN/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
(cd "$SRC" && CGO_ENABLED=0 nice -n "$NICE" go build -mod=readonly -trimpath -ldflags "-s -w" \
  -o "$TMP/actionlint" github.com/rhysd/actionlint/cmd/actionlint) \
  || die "go build of github.com/rhysd/actionlint/cmd/actionlint $VERSION ($SRC) failed"
mv -f "$TMP/actionlint" "$BIN/actionlint"
echo "$STAMP" >"$BIN/.stamp"
log "built $BIN/actionlint ($VERSION) in $(( $(date +%s) - t0 ))s"
