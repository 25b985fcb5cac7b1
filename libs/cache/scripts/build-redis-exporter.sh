#!/usr/bin/env bash
# Builds (or reuses) the real redis_exporter (github.com/oliver006/redis_exporter, MIT) at the
# version deployed (libs/config/src/defaults.ts, images.redisExporter), for the cache tests: only
# its main package (the module root), static, from the wrapper module ../tools/go/redis-exporter.
# Cached OUTSIDE the repo, keyed by version:
#   ${BITPIN_CACHE:-$HOME/.cache/bitpin}/redis_exporter/<version>/bin/redis_exporter
# A stamp (version + hash of the wrapper go.mod/go.sum + Go version) decides whether to rebuild;
# a warm cache returns at once. Env: BITPIN_CACHE (cache root), BITPIN_BUILD_NICE (default 10).
# Usage: libs/cache/scripts/build-redis-exporter.sh [--print-bin]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SRC="$HERE/tools/go/redis-exporter"
DEFAULTS="$ROOT/libs/config/src/defaults.ts"
log() { echo "cache build-redis-exporter: $*" >&2; }
die() { echo "cache build-redis-exporter: ERROR: $*" >&2; exit 1; }

TAG=$(sed -nE "s/^[[:space:]]*redisExporter: '[^']*:(v[0-9][^'@]*)'.*/\1/p" "$DEFAULTS" | head -n1)
[[ "$TAG" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "images.redisExporter in $DEFAULTS has no vX.Y.Z tag (got '$TAG')"
grep -qE "^(require )?[[:space:]]*github.com/oliver006/redis_exporter $TAG\$" "$SRC/go.mod" \
  || die "$SRC/go.mod does not require github.com/oliver006/redis_exporter $TAG (images.redisExporter); run: cd $SRC && go get github.com/oliver006/redis_exporter@$TAG && go mod tidy"

BIN="${BITPIN_CACHE:-$HOME/.cache/bitpin}/redis_exporter/$TAG/bin"
if [ "${1:-}" = "--print-bin" ]; then echo "$BIN/redis_exporter"; exit 0; fi

command -v go >/dev/null || die "go is not on PATH (needs Go >= 1.24)"
NICE="${BITPIN_BUILD_NICE:-10}"
mkdir -p "$BIN"
STAMP="redis_exporter $TAG $(cat "$SRC/go.mod" "$SRC/go.sum" | sha256sum | cut -c1-16) $(go env GOVERSION)"
fresh() { [ -x "$BIN/redis_exporter" ] && [ "$(cat "$BIN/.stamp" 2>/dev/null)" = "$STAMP" ]; }
if fresh; then log "cached: $BIN/redis_exporter"; exit 0; fi

# One build at a time per cache (CI, tests and engineers may call this concurrently).
exec 9>"$BIN/.build.lock"
flock 9
if fresh; then log "built by another holder of the lock: $BIN/redis_exporter"; exit 0; fi

t0=$(date +%s)
TMP=$(mktemp -d "$BIN/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# The version stamp upstream's release build sets (main.BuildVersion), so /metrics reports it.
(cd "$SRC" && CGO_ENABLED=0 nice -n "$NICE" go build -mod=readonly -trimpath \
    -ldflags "-s -w -X main.BuildVersion=$TAG -X main.BuildCommitSha=module-$TAG -X main.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -o "$TMP/redis_exporter" github.com/oliver006/redis_exporter) \
  || die "go build of github.com/oliver006/redis_exporter $TAG failed"
"$TMP/redis_exporter" --version >/dev/null 2>&1 || die "built redis_exporter does not run ($TMP/redis_exporter --version)"
mv -f "$TMP/redis_exporter" "$BIN/redis_exporter"
echo "$STAMP" >"$BIN/.stamp"
log "built $BIN/redis_exporter ($TAG) in $(( $(date +%s) - t0 ))s"
