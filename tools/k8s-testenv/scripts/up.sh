#!/usr/bin/env bash
# Starts (or reuses) the local control plane and prints `export KUBECONFIG=...`.
# Builds the binaries first if the cache is cold (scripts/build.sh; a no-op when warm) and compiles
# the TypeScript CLI (tsc -b, incremental). State: ${BITPIN_TESTENV_DIR:-${BITPIN_CACHE:-~/.cache/bitpin}/k8s-testenv/state}
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
bash "$HERE/scripts/build.sh" >&2
(cd "$ROOT" && npx --no-install tsc -b "$HERE/tsconfig.lib.json")
exec node "$HERE/dist/cli.js" up "$@"
