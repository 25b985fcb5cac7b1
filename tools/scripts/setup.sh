#!/usr/bin/env bash
# Newcomer's one command: install what the platform's tooling needs, then run the main job for
# an environment. Usage: npm run setup [-- --env=dev|staging|prod]   (default: dev)
set -euo pipefail
cd "$(dirname "$0")/../.."
env=dev
for a in "$@"; do
  case "$a" in
    --env=*) env="${a#--env=}" ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "setup: unknown argument '$a' (expected --env=<name>)" >&2; exit 2 ;;
  esac
done

bash tools/scripts/install-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
export NX_NO_CLOUD=true
npx nx run deployer:synth --env="$env"
