#!/usr/bin/env bash
# Builds (or reuses) SeaweedFS's `weed` (Apache-2.0) from its Go module, the S3-compatible object
# store the off-site tests and bench upload to (not MinIO: AGPL). Only ./weed is built, with
# -trimpath -ldflags '-s -w', from the module's own go.mod (its replace directive included), and
# cached OUTSIDE the repo, keyed by version:
#   ${BITPIN_CACHE:-$HOME/.cache/bitpin}/seaweedfs/<version>/bin/weed
# A stamp (version + Go version) decides whether to rebuild; a warm cache returns at once.
# Env: BITPIN_CACHE (cache root), BITPIN_BUILD_NICE (nice level, default 10).
# A development tool: not shipped in the scripts ConfigMap.
# Usage: libs/backup/scripts/dev/build-seaweedfs.sh [--print-bin]
set -euo pipefail

MODULE=github.com/seaweedfs/seaweedfs
VERSION=v0.0.0-20261109003541-7506e5f91cd6
log() { echo "build-seaweedfs: $*" >&2; }
die() { echo "build-seaweedfs: ERROR: $*" >&2; exit 1; }

BIN="${BITPIN_CACHE:-$HOME/.cache/bitpin}/seaweedfs/$VERSION/bin"
if [ "${1:-}" = "--print-bin" ]; then echo "$BIN/weed"; exit 0; fi

command -v go >/dev/null || die "go is not on PATH (the module needs Go >= 1.26.6)"
NICE="${BITPIN_BUILD_NICE:-10}"
mkdir -p "$BIN"
STAMP="seaweedfs $VERSION $(go env GOVERSION)"
fresh() { [ -x "$BIN/weed" ] && [ "$(cat "$BIN/.stamp" 2>/dev/null)" = "$STAMP" ]; }
if fresh; then log "cached: $BIN/weed"; exit 0; fi

exec 9>"$BIN/.build.lock"
if ! flock -n 9; then
  log "another build holds $BIN/.build.lock; waiting"
  flock 9
fi
if fresh; then log "built by another holder of the lock: $BIN/weed"; exit 0; fi

t0=$(date +%s)
# The module's source (read-only in the module cache), built as the main module so that its own
# go.mod, go.sum and replace directive apply exactly as upstream builds it.
SRC=$(go mod download -json "$MODULE@$VERSION" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')
{ [ -n "$SRC" ] && [ -d "$SRC/weed" ]; } || die "go mod download $MODULE@$VERSION gave no source directory with ./weed"
TMP=$(mktemp -d "$BIN/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
log "building $MODULE@$VERSION ./weed (cold: several minutes on 2 cores)"
(cd "$SRC" && CGO_ENABLED=0 GOFLAGS=-mod=readonly nice -n "$NICE" go build -trimpath -ldflags "-s -w" \
  -o "$TMP/weed" ./weed) || die "go build of $MODULE@$VERSION ./weed failed"
mv -f "$TMP/weed" "$BIN/weed"
echo "$STAMP" >"$BIN/.stamp"
log "built $BIN/weed in $(( $(date +%s) - t0 ))s"
