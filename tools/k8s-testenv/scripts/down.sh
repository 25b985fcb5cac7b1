#!/usr/bin/env bash
# Stops exactly the processes `up` started (PIDs from state.json, each checked against its command line).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
(cd "$ROOT" && npx --no-install tsc -b "$HERE/tsconfig.lib.json")
exec node "$HERE/dist/cli.js" down "$@"
