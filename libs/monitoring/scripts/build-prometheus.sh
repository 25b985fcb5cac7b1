#!/usr/bin/env bash
# Builds (or reuses) the real Prometheus and Alertmanager binaries of the versions deployed, for
# the monitoring tests:
#   prometheus, promtool      from the github.com/prometheus/prometheus Go module
#   alertmanager, amtool      from the github.com/prometheus/alertmanager Go module
# (wrapper modules: ../tools/go/prometheus and ../tools/go/alertmanager, separate because the two
# releases need different github.com/prometheus/common versions). Why not only Debian's packages: Debian builds prometheus 2.42
# WITHOUT Kubernetes service discovery (`field kubernetes_sd_configs not found`), so its promtool
# cannot check the generated prometheus.yml as deployed, and both Debian packages are older than
# the images (prometheus v3.5.0, alertmanager v0.28.1). The tests run both: Debian's for
# "still valid for the old tools", these for "valid for the deployed version, unmodified".
#
# Versions come from the image tags in libs/config/src/defaults.ts (images.prometheus,
# images.alertmanager). Prometheus v3.X.Y is Go module v0.3XX.Y (v3.5.0 = v0.305.0).
# Binaries are cached OUTSIDE the repo, keyed by version:
#   ${BITPIN_CACHE:-$HOME/.cache/bitpin}/prometheus/<prometheus-tag>_<alertmanager-tag>/bin/
# Each binary has a stamp (versions + hash of the wrapper go.mod/go.sum + Go version); when every
# stamp matches nothing is built, so a warm cache returns in well under a second.
# Env: BITPIN_CACHE (cache root), BITPIN_BUILD_NICE (nice level, default 10).
# Usage: libs/monitoring/scripts/build-prometheus.sh [--print-bin-dir]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PROM_DIR="$HERE/tools/go/prometheus"
AM_DIR="$HERE/tools/go/alertmanager"
DEFAULTS="$ROOT/libs/config/src/defaults.ts"

log() { echo "monitoring build-prometheus: $*" >&2; }
die() { echo "monitoring build-prometheus: ERROR: $*" >&2; exit 1; }

# --- the deployed versions ------------------------------------------------------------------------
image_tag() { # image_tag KEY -> tag of IMAGE_CATALOG.KEY, without the leading v
  sed -nE "s/^[[:space:]]*$1: '[^']*:v?([0-9][^'@]*)'.*/\1/p" "$DEFAULTS" | head -n1
}
PROM_TAG=$(image_tag prometheus)
AM_TAG=$(image_tag alertmanager)
[[ "$PROM_TAG" =~ ^3\.([0-9]+)\.([0-9]+)$ ]] || die "images.prometheus tag '$PROM_TAG' in $DEFAULTS is not a v3.X.Y release"
PROM_MOD="v0.$((300 + BASH_REMATCH[1])).${BASH_REMATCH[2]}"
[[ "$AM_TAG" =~ ^0\.[0-9]+\.[0-9]+$ ]] || die "images.alertmanager tag '$AM_TAG' in $DEFAULTS is not a v0.X.Y release"
AM_MOD="v$AM_TAG"

CACHE_ROOT="${BITPIN_CACHE:-$HOME/.cache/bitpin}"
BIN="$CACHE_ROOT/prometheus/${PROM_TAG}_${AM_TAG}/bin"
if [ "${1:-}" = "--print-bin-dir" ]; then echo "$BIN"; exit 0; fi

command -v go >/dev/null || die "go is not on PATH (needs Go >= 1.24)"
grep -qE "^(require )?[[:space:]]*github.com/prometheus/prometheus $PROM_MOD\$" "$PROM_DIR/go.mod" \
  || die "$PROM_DIR/go.mod does not require github.com/prometheus/prometheus $PROM_MOD (images.prometheus v$PROM_TAG); update it and repeat that version's replace/exclude directives"
grep -qE "^(require )?[[:space:]]*github.com/prometheus/alertmanager $AM_MOD\$" "$AM_DIR/go.mod" \
  || die "$AM_DIR/go.mod does not require github.com/prometheus/alertmanager $AM_MOD (images.alertmanager)"

NICE="${BITPIN_BUILD_NICE:-10}"
mkdir -p "$BIN"
STAMP="prometheus $PROM_MOD alertmanager $AM_MOD $(cat "$PROM_DIR/go.mod" "$PROM_DIR/go.sum" "$AM_DIR/go.mod" "$AM_DIR/go.sum" | sha256sum | cut -c1-16) $(go env GOVERSION)"
ALL=(prometheus promtool alertmanager amtool)
fresh() { # fresh BIN... -> 0 when every binary exists and carries STAMP
  local b
  for b in "$@"; do
    [ -x "$BIN/$b" ] && [ "$(cat "$BIN/.stamp-$b" 2>/dev/null)" = "$STAMP" ] || return 1
  done
}
if fresh "${ALL[@]}"; then
  log "prometheus v$PROM_TAG / alertmanager v$AM_TAG: cached in $BIN"
  exit 0
fi

# One build at a time per cache (CI, tests and engineers may call this concurrently).
exec 9>"$BIN/.build.lock"
if ! flock -n 9; then
  log "another build holds $BIN/.build.lock; waiting"
  flock 9
fi
if fresh "${ALL[@]}"; then
  log "prometheus v$PROM_TAG / alertmanager v$AM_TAG: built by the other holder of the lock"
  exit 0
fi

# --- the wrapper must repeat prometheus's own replace/exclude directives ---------------------------
directives() { # normalised one-line replace/exclude directives of a go.mod
  awk '
    /^(replace|exclude) \(/ { block=$1; next }
    block && /^\)/ { block=""; next }
    block && NF { sub(/\/\/.*/, ""); print block, $0; next }
    /^(replace|exclude) / { sub(/\/\/.*/, ""); print }
  ' "$1" | tr -s ' \t' ' ' | sed 's/ $//' | sort -u
}
check_directives() { # check_directives DIR MODULE@VERSION
  local upstream missing
  upstream=$(cd "$1" && go mod download -json "$2" | sed -nE 's/^\s*"GoMod": "(.*)",?$/\1/p')
  [ -f "$upstream" ] || die "go mod download $2 gave no go.mod"
  missing=$(comm -23 <(directives "$upstream") <(directives "$1/go.mod"))
  [ -z "$missing" ] || die "$1/go.mod lacks these directives of $2's go.mod: $(echo "$missing" | tr '\n' ';')"
}
check_directives "$PROM_DIR" "github.com/prometheus/prometheus@$PROM_MOD"
check_directives "$AM_DIR" "github.com/prometheus/alertmanager@$AM_MOD"

TMP=$(mktemp -d "$BIN/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
t0=$(date +%s)
log "building prometheus/promtool v$PROM_TAG and alertmanager/amtool v$AM_TAG with $(go env GOVERSION) (nice $NICE; several minutes cold on 2 cores)"
# Version stamps as upstream's promu sets them (`prometheus --version` prints the deployed version).
ldflags() { # ldflags VERSION BRANCH
  local v=github.com/prometheus/common/version
  echo "-s -w -X $v.Version=$1 -X $v.Branch=$2 -X $v.BuildUser=bitpin-build-prometheus -X $v.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)"
}
# Static, netgo, as upstream's release builds. Without the `builtinassets` tag the web UI is not
# embedded: the tests use the HTTP API only.
(cd "$PROM_DIR" && CGO_ENABLED=0 nice -n "$NICE" go build -mod=readonly -trimpath -tags netgo \
    -ldflags "$(ldflags "$PROM_TAG" "v$PROM_TAG")" -o "$TMP/" \
    github.com/prometheus/prometheus/cmd/prometheus \
    github.com/prometheus/prometheus/cmd/promtool) || die "go build of github.com/prometheus/prometheus $PROM_MOD failed"
(cd "$AM_DIR" && CGO_ENABLED=0 nice -n "$NICE" go build -mod=readonly -trimpath -tags netgo \
    -ldflags "$(ldflags "$AM_TAG" "v$AM_TAG")" -o "$TMP/" \
    github.com/prometheus/alertmanager/cmd/alertmanager \
    github.com/prometheus/alertmanager/cmd/amtool) || die "go build of github.com/prometheus/alertmanager $AM_MOD failed"
for b in "${ALL[@]}"; do
  "$TMP/$b" --version >/dev/null 2>&1 || die "built $b does not run ($TMP/$b --version)"
  mv -f "$TMP/$b" "$BIN/$b"
  echo "$STAMP" >"$BIN/.stamp-$b"
done
log "built prometheus, promtool, alertmanager and amtool in $(( $(date +%s) - t0 ))s into $BIN"
