#!/usr/bin/env bash
# kubectl against the local control plane: the cached kubectl (same version as the control plane,
# built by scripts/build.sh) with the admin kubeconfig of the running instance. Arguments go to kubectl.
#   npx nx run k8s-testenv:kubectl -- get pods -A
# State dir: ${BITPIN_TESTENV_DIR:-${BITPIN_CACHE:-~/.cache/bitpin}/k8s-testenv/state}
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
k8s_version=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).kubernetes)' "$HERE/versions.json")
cache="${BITPIN_CACHE:-$HOME/.cache/bitpin}"
state="${BITPIN_TESTENV_DIR:-$cache/k8s-testenv/state}"
kubectl="$cache/k8s/$k8s_version/bin/kubectl"
if [ ! -x "$kubectl" ]; then
  echo "k8s-testenv: kubectl missing in $cache/k8s/$k8s_version/bin; build it with: bash tools/k8s-testenv/scripts/build.sh" >&2
  exit 2
fi
if [ ! -f "$state/state.json" ]; then
  echo "k8s-testenv: the local control plane is not running (no $state/state.json); start it with: npx nx run k8s-testenv:up" >&2
  exit 2
fi
exec "$kubectl" --kubeconfig "$state/kubeconfig" "$@"
