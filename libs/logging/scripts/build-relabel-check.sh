#!/usr/bin/env bash
# Builds (or reuses) relabel-check (libs/logging/tools/relabel-check): Promtail's relabeling and
# log-path glob, from the Apache-2.0/MIT libraries Promtail 3.5.3 links, for the logging tests.
# Cached OUTSIDE the repo, keyed by the Prometheus version it links:
#   ${BITPIN_CACHE:-$HOME/.cache/bitpin}/logging/relabel-check/<prometheus version>/bin/relabel-check
# A stamp (hash of go.mod, go.sum, main.go + Go version) decides whether to rebuild; a warm cache
# returns at once. Env: BITPIN_CACHE (cache root), BITPIN_BUILD_NICE (nice level, default 10).
# Usage: libs/logging/scripts/build-relabel-check.sh [--print-bin]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$HERE/tools/relabel-check"
log() { echo "logging build-relabel-check: $*" >&2; }
die() { echo "logging build-relabel-check: ERROR: $*" >&2; exit 1; }

PROM_VERSION=$(sed -nE 's/^\s*github.com\/prometheus\/prometheus (v[^ ]+)$/\1/p' "$SRC/go.mod" | head -n1)
[ -n "$PROM_VERSION" ] || die "cannot read the github.com/prometheus/prometheus version from $SRC/go.mod"
BIN="${BITPIN_CACHE:-$HOME/.cache/bitpin}/logging/relabel-check/$PROM_VERSION/bin"
if [ "${1:-}" = "--print-bin" ]; then echo "$BIN/relabel-check"; exit 0; fi

command -v go >/dev/null || die "go is not on PATH (needs Go >= 1.24)"
NICE="${BITPIN_BUILD_NICE:-10}"
mkdir -p "$BIN"
STAMP="relabel-check $PROM_VERSION $(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" | sha256sum | cut -c1-16) $(go env GOVERSION)"
fresh() { [ -x "$BIN/relabel-check" ] && [ "$(cat "$BIN/.stamp" 2>/dev/null)" = "$STAMP" ]; }
if fresh; then log "cached: $BIN/relabel-check"; exit 0; fi

exec 9>"$BIN/.build.lock"
flock 9
if fresh; then log "built by another holder of the lock: $BIN/relabel-check"; exit 0; fi

t0=$(date +%s)
TMP=$(mktemp -d "$BIN/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
(cd "$SRC" && CGO_ENABLED=0 nice -n "$NICE" go build -mod=readonly -trimpath -ldflags "-s -w" -o "$TMP/relabel-check" .) \
  || die "go build of $SRC failed"
mv -f "$TMP/relabel-check" "$BIN/relabel-check"
echo "$STAMP" >"$BIN/.stamp"
log "built $BIN/relabel-check (prometheus $PROM_VERSION) in $(( $(date +%s) - t0 ))s"
