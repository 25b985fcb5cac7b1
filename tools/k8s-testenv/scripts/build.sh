#!/usr/bin/env bash
# Builds (or reuses) the pinned control-plane binaries for tools/k8s-testenv:
#   kube-apiserver, kube-controller-manager, kube-scheduler  (k8s.io/kubernetes, go/kubernetes wrapper module)
#   kubectl                                                   (k8s.io/kubernetes/cmd/kubectl, same module and ldflags)
#   etcd                                                      (go.etcd.io/etcd/server/v3, go/etcd wrapper module)
#   kwok                                                      (sigs.k8s.io/kwok/cmd/kwok, go install @tag)
# Versions come from tools/k8s-testenv/versions.json. Binaries are cached OUTSIDE the repo in
#   ${BITPIN_CACHE:-$HOME/.cache/bitpin}/k8s/<kubernetes version>/bin/
# Each binary has a stamp file (component version + hash of its wrapper go.mod/go.sum); when every
# stamp matches, nothing is built. Idempotent; safe to call from CI and before tests.
# Env: BITPIN_CACHE (cache root), BITPIN_BUILD_NICE (nice level, default 10).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSIONS_JSON="$HERE/versions.json"

log() { echo "k8s-testenv build: $*"; }
die() { echo "k8s-testenv build: ERROR: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not on PATH (needs Go >= 1.26)"

json_field() { # json_field KEY  -> value from versions.json (node is always present in this repo)
  node -e 'const v=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))[process.argv[2]]; if(!v){process.exit(1)}; process.stdout.write(v)' \
    "$VERSIONS_JSON" "$1" || die "versions.json has no '$1'"
}

K8S_VERSION=$(json_field kubernetes)   # v1.34.4
ETCD_VERSION=$(json_field etcd)        # v3.6.16
KWOK_VERSION=$(json_field kwok)        # v0.8.0
STAGING_VERSION="v0.${K8S_VERSION#v1.}" # v0.34.4
K8S_MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)

CACHE_ROOT="${BITPIN_CACHE:-$HOME/.cache/bitpin}"
BIN="$CACHE_ROOT/k8s/$K8S_VERSION/bin"
NICE="${BITPIN_BUILD_NICE:-10}"
mkdir -p "$BIN"

# --- the committed wrapper modules must pin exactly what versions.json says --------------------
K8S_MOD="$HERE/go/kubernetes/go.mod"
ETCD_MOD="$HERE/go/etcd/go.mod"
grep -qE "^require k8s.io/kubernetes $K8S_VERSION\$" "$K8S_MOD" \
  || die "$K8S_MOD does not require k8s.io/kubernetes $K8S_VERSION (run scripts/gen-go-mod.sh)"
bad_replace=$(grep -E '^\s+k8s\.io/[a-z0-9-]+ => k8s\.io/' "$K8S_MOD" | grep -vE " $STAGING_VERSION\$" || true)
[ -z "$bad_replace" ] || die "staging replaces not at $STAGING_VERSION in $K8S_MOD: $bad_replace"
grep -qE "^require go.etcd.io/etcd/server/v3 $ETCD_VERSION\$" "$ETCD_MOD" \
  || die "$ETCD_MOD does not require go.etcd.io/etcd/server/v3 $ETCD_VERSION (run scripts/gen-go-mod.sh)"

modhash() { { grep -v '^//' "$1/go.mod"; cat "$1/go.sum"; } | sha256sum | cut -c1-16; }  # comments do not count
K8S_STAMP="kubernetes $K8S_VERSION $(modhash "$HERE/go/kubernetes") $(go env GOVERSION)"
ETCD_STAMP="etcd $ETCD_VERSION $(modhash "$HERE/go/etcd") $(go env GOVERSION)"
KWOK_STAMP="kwok $KWOK_VERSION $(go env GOVERSION)"

fresh() { # fresh STAMP BIN...  -> 0 when every binary exists and carries STAMP
  local stamp=$1; shift
  local b
  for b in "$@"; do
    [ -x "$BIN/$b" ] && [ "$(cat "$BIN/.stamp-$b" 2>/dev/null)" = "$stamp" ] || return 1
  done
}

# One build at a time per cache (tests, CI and engineers may call this concurrently).
exec 9>"$BIN/.build.lock"
if ! flock -n 9; then
  log "another build holds $BIN/.build.lock; waiting"
  flock 9
fi

TMP=$(mktemp -d "$BIN/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
start_all=$(date +%s)
built=0

# One stamp per binary (same content): only stale ones are built, all of them in one `go build`
# (shared compilation). Adding kubectl changed go.mod/go.sum, so the first build after that re-links
# the three servers too (their packages come from GOCACHE) and compiles kubectl's own packages.
K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
stale=()
for b in "${K8S_BINS[@]}"; do fresh "$K8S_STAMP" "$b" || stale+=("$b"); done
if [ ${#stale[@]} -eq 0 ]; then
  log "${K8S_BINS[*]} $K8S_VERSION: cached"
else
  log "building ${stale[*]} $K8S_VERSION (nice $NICE; 4-8 min cold on 2 cores)"
  t0=$(date +%s)
  LDFLAGS="-s -w"
  # The same version variables as upstream's hack/lib/version.sh: component-base (what --version and
  # `kubectl version` print) and client-go (the User-Agent of every client).
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LDFLAGS+=" -X $pkg.gitVersion=$K8S_VERSION"
    LDFLAGS+=" -X $pkg.gitMajor=1"
    LDFLAGS+=" -X $pkg.gitMinor=$K8S_MINOR"
    LDFLAGS+=" -X $pkg.gitTreeState=clean"
    LDFLAGS+=" -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  pkgs=()
  for b in "${stale[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  if [ ${#pkgs[@]} -eq 1 ]; then out="$TMP/${stale[0]}"; else out="$TMP/"; fi # -o DIR/ needs 2+ packages
  (cd "$HERE/go/kubernetes" && CGO_ENABLED=0 nice -n "$NICE" go build -trimpath -ldflags "$LDFLAGS" -o "$out" "${pkgs[@]}") \
    || die "go build of k8s.io/kubernetes $K8S_VERSION (${stale[*]}) failed"
  for b in "${stale[@]}"; do
    mv -f "$TMP/$b" "$BIN/$b"
    echo "$K8S_STAMP" >"$BIN/.stamp-$b"
  done
  log "${stale[*]} built in $(( $(date +%s) - t0 ))s"
  built=1
fi

if fresh "$ETCD_STAMP" etcd; then
  log "etcd $ETCD_VERSION: cached"
else
  log "building etcd $ETCD_VERSION (nice $NICE)"
  t0=$(date +%s)
  (cd "$HERE/go/etcd" && CGO_ENABLED=0 nice -n "$NICE" go build -trimpath -ldflags "-s -w" -o "$TMP/etcd" \
      go.etcd.io/etcd/server/v3) || die "go build of etcd $ETCD_VERSION failed"
  mv -f "$TMP/etcd" "$BIN/etcd"
  echo "$ETCD_STAMP" >"$BIN/.stamp-etcd"
  log "etcd built in $(( $(date +%s) - t0 ))s"
  built=1
fi

if fresh "$KWOK_STAMP" kwok; then
  log "kwok $KWOK_VERSION: cached"
else
  log "building kwok $KWOK_VERSION (nice $NICE)"
  t0=$(date +%s)
  # `go install pkg@version` ignores any enclosing module; run it from the temp dir anyway.
  (cd "$TMP" && CGO_ENABLED=0 GOBIN="$TMP" nice -n "$NICE" go install -trimpath -ldflags "-s -w" \
      "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION") || die "go install of kwok $KWOK_VERSION failed"
  mv -f "$TMP/kwok" "$BIN/kwok"
  echo "$KWOK_STAMP" >"$BIN/.stamp-kwok"
  log "kwok built in $(( $(date +%s) - t0 ))s"
  built=1
fi

# `up` reads kwok's stage definitions and the CloudNativePG CRDs from these modules: fetch them now so
# that starting the control plane never needs the network (a no-op when already in the module cache).
CNPG_VERSION=$(json_field cloudnativePg)
for mod in "sigs.k8s.io/kwok@$KWOK_VERSION" "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION"; do
  (cd "$TMP" && go mod download "$mod") || die "go mod download $mod failed"
done

# Smoke check: every binary runs and reports the pinned version.
# Outputs are captured first: `cmd | grep -q` under pipefail fails at random when grep exits
# early and the command gets SIGPIPE.
apiserver_version=$("$BIN/kube-apiserver" --version 2>&1 || true)
[[ "$apiserver_version" == *"Kubernetes $K8S_VERSION"* ]] \
  || die "kube-apiserver does not report $K8S_VERSION: $apiserver_version"
kubectl_version=$("$BIN/kubectl" version --client 2>&1 || true) # no pipe: grep -q would SIGPIPE kubectl
[[ "$kubectl_version" == *"Client Version: $K8S_VERSION"* ]] \
  || die "kubectl does not report $K8S_VERSION: ${kubectl_version%%$'\n'*}"
etcd_version=$("$BIN/etcd" --version 2>&1 || true)
[[ "$etcd_version" == *"etcd Version: ${ETCD_VERSION#v}"* ]] \
  || die "etcd does not report $ETCD_VERSION: ${etcd_version%%$'\n'*}"
"$BIN/kwok" --version >/dev/null 2>&1 || die "kwok does not run"

if [ "$built" = 1 ]; then
  log "done in $(( $(date +%s) - start_all ))s -> $BIN"
else
  log "all binaries cached (kubernetes $K8S_VERSION incl. kubectl, etcd $ETCD_VERSION, kwok $KWOK_VERSION) -> $BIN"
fi
