#!/usr/bin/env bash
# The workspace's one test command (README, .ci/run): lint, typecheck, build and test every project.
# Tests that need real servers (kube-apiserver, PostgreSQL, Prometheus, Loki …) start them
# themselves from the binaries tools/ installed. Ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
export NX_NO_CLOUD=true
export NX_DAEMON="${NX_DAEMON:-false}"

# Results of this run only (a cache hit restores a project's test-results/ from the Nx cache).
find apps libs tools dashboards -maxdepth 2 -type d -name test-results -prune -exec rm -rf {} + 2>/dev/null

npx nx run-many -t lint typecheck build test --outputStyle=static --parallel="${NX_PARALLEL:-2}" "$@"
rc=$?
node tools/scripts/count-results.mjs || rc=1
exit $rc
