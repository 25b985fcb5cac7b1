#!/usr/bin/env bash
# Newcomer's one command: install what the platform's tooling needs, then run the main job —
# synthesize every manifest for the env and deploy it for real. With the default env `local`
# the target is the embedded control plane (tools/k8s-testenv: etcd, kube-apiserver,
# controllers and kwok fake nodes on 127.0.0.1), built from source on first use (~6 min) and
# started on demand. Other envs deploy to the kube context they name (see libs/config).
#
# Usage: npm run setup [-- --env=local|dev|staging|prod] [-- <deployer apply flags>]
set -euo pipefail
cd "$(dirname "$0")/../.."
env=local
extra=()
for a in "$@"; do
  case "$a" in
    --env=*) env="${a#--env=}" ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) extra+=("$a") ;;
  esac
done

echo "setup: system packages"
bash tools/scripts/install-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
export NX_NO_CLOUD=true NX_DAEMON=false
if [ "$env" = local ]; then
  echo "setup: the local control plane's binaries (cached under ~/.cache/bitpin)"
  bash tools/k8s-testenv/scripts/build.sh
fi
npx nx run deployer:apply --env="$env" ${extra[@]+"${extra[@]}"}
