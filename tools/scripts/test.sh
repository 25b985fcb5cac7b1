#!/usr/bin/env bash
# The workspace's one test command (README, .ci/run): lint, typecheck, build and test every project.
# Each test target first builds (through Nx dependsOn, cached by version under ~/.cache/bitpin) the
# real servers its tests start: the control plane, Prometheus/Alertmanager, relabel-check.
# Ends with the line "N passed, N failed, N skipped" (tools/scripts/count-results.mjs); the exit
# status is non-zero when anything failed, including a test file that did not load.
#
# Usage: npm test [-- <nx run-many flags, e.g. -p deployer>]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
export NX_NO_CLOUD=true
export NX_DAEMON="${NX_DAEMON:-false}"

# Results of this run only (a cache hit restores a project's test-results/ from the Nx cache).
find apps libs tools dashboards -maxdepth 2 -type d -name test-results -prune -exec rm -rf {} + 2>/dev/null

npx nx run-many -t lint typecheck build test --outputStyle=static --parallel="${NX_PARALLEL:-2}" "$@"
rc=$?
if [ $# -gt 0 ]; then
  node tools/scripts/count-results.mjs --present || rc=1  # a partial run: count what ran
else
  node tools/scripts/count-results.mjs || rc=1
fi
exit $rc
