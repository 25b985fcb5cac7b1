#!/usr/bin/env bash
# Builds (or reuses) victoria-logs and vlagent from the Go module github.com/VictoriaMetrics/VictoriaLogs
# (Apache-2.0) at the version of images.victorialogs / images.vlagent, for the logging tests.
# Cached OUTSIDE the repo:
#   ${BITPIN_CACHE:-$HOME/.cache/bitpin}/victorialogs/<version>/bin/{victoria-logs,vlagent}
# A stamp (version + Go version) decides whether to rebuild; a warm cache returns at once. Only the
# two main packages are built (-trimpath -ldflags "-s -w", CGO off). The module's checksum is
# verified against go.sum's database (GOSUMDB) by `go install pkg@version`.
# Env: BITPIN_CACHE (cache root), BITPIN_BUILD_NICE (nice level, default 10).
# Usage: libs/logging/scripts/build-victorialogs.sh [--print-bin-dir]
set -euo pipefail

VERSION=v1.52.2
MODULE=github.com/VictoriaMetrics/VictoriaLogs
BIN="${BITPIN_CACHE:-$HOME/.cache/bitpin}/victorialogs/$VERSION/bin"
log() { echo "logging build-victorialogs: $*" >&2; }
die() { echo "logging build-victorialogs: ERROR: $*" >&2; exit 1; }
if [ "${1:-}" = "--print-bin-dir" ]; then echo "$BIN"; exit 0; fi
if [ "${1:-}" = "--print-version" ]; then echo "$VERSION"; exit 0; fi

command -v go >/dev/null || die "go is not on PATH (needs Go >= 1.26: the module's go.mod says go 1.26.5)"
NICE="${BITPIN_BUILD_NICE:-10}"
mkdir -p "$BIN"
STAMP="victorialogs $VERSION $(go env GOVERSION)"
fresh() { [ -x "$BIN/victoria-logs" ] && [ -x "$BIN/vlagent" ] && [ "$(cat "$BIN/.stamp" 2>/dev/null)" = "$STAMP" ]; }
if fresh; then log "cached: $BIN"; exit 0; fi

exec 9>"$BIN/.build.lock"
flock 9
if fresh; then log "built by another holder of the lock: $BIN"; exit 0; fi

t0=$(date +%s)
TMP=$(mktemp -d "$BIN/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# Outside any module: `go install pkg@version` resolves the module's own go.mod/go.sum.
(cd "$TMP" && CGO_ENABLED=0 GOBIN="$TMP" nice -n "$NICE" go install -trimpath -ldflags "-s -w" \
  "$MODULE/app/victoria-logs@$VERSION" "$MODULE/app/vlagent@$VERSION") \
  || die "go install of $MODULE/app/{victoria-logs,vlagent}@$VERSION failed"
mv -f "$TMP/victoria-logs" "$TMP/vlagent" "$BIN/"
echo "$STAMP" >"$BIN/.stamp"
log "built $BIN/{victoria-logs,vlagent} ($MODULE $VERSION) in $(( $(date +%s) - t0 ))s"
