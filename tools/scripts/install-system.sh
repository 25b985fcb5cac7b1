#!/usr/bin/env bash
# Installs the system packages the tests need. Idempotent: a package already present is skipped,
# and `apt-get update` runs at most once per invocation (and only when something is missing).
# Supported: Debian 12 bookworm (what .ci/run and the CI's debian:bookworm container run). On any
# other apt system every missing package is first checked for an install candidate
# (`apt-cache policy`); when one has none (e.g. postgresql-15 on Ubuntu 24.04) the script installs
# nothing and exits 2 with ONE line naming the packages and how to fix it.
# Later issues extend PACKAGES; heavy Go-built binaries are cached by their own scripts under
# ${BITPIN_CACHE:-~/.cache/bitpin}, keyed by version.
set -euo pipefail

PACKAGES=(
  postgresql-15            # real PostgreSQL 15 for backup/restore tests (pg_basebackup, pg_receivewal, pg_dump)
  postgresql-client-15
  prometheus               # promtool + a real Prometheus for rules/config/dashboard tests
  prometheus-alertmanager  # amtool + alertmanager
  nginx-light              # the proxy anchor for the metrics-sidecar benchmark
  wrk                      # load generator for the metrics-sidecar benchmark
  etcd-server              # fallback etcd; the control plane prefers a Go-built etcd 3.5
  openssl                  # certificates for the local control plane
  ca-certificates
  curl
  git
  python3-venv             # python3 + venv/ensurepip: the backup scripts' Python, ruff from PyPI (libs/backup/scripts/dev/install-ruff.sh)
  shellcheck               # workspace-checks:lint-shell, and actionlint's check of the workflow's run: scripts
  rclone                   # libs/backup's encrypted off-site copy (crypt over s3) and its tests against SeaweedFS
  pgbouncer                # libs/database: PgBouncer (what a CloudNativePG Pooler runs) in front of real PostgreSQL 15, its test and bench
  redis-server             # libs/cache: the generated redis.conf on a real Redis (auth, eviction at maxmemory), redis_exporter's target
)

missing=()
for p in "${PACKAGES[@]}"; do
  # No `| grep -q` under pipefail: an early grep exit can SIGPIPE dpkg-query and fail the test.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != 'install ok installed' ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-system: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq

# Every missing package must have a candidate in this system's apt sources; refuse before
# installing anything when one has none (another distribution, or a release without it).
nocand=()
for p in "${missing[@]}"; do
  pol=$(apt-cache policy "$p" 2>/dev/null || true)
  cand=$(awk '$1 == "Candidate:" { print $2; exit }' <<<"$pol")
  if [ -z "$cand" ] || [ "$cand" = '(none)' ]; then nocand+=("$p"); fi
done
if [ ${#nocand[@]} -gt 0 ]; then
  distro=$(sed -nE 's/^PRETTY_NAME="?([^"]*)"?$/\1/p' /etc/os-release 2>/dev/null || true)
  echo "install-system: ERROR: no install candidate for ${nocand[*]} on ${distro:-this system}; supported is Debian 12 bookworm (CI: a debian:bookworm container): run there, or add an apt repository that has them (PostgreSQL: https://wiki.postgresql.org/wiki/Apt) and rerun; nothing was installed" >&2
  exit 2
fi

echo "install-system: installing ${missing[*]}"
# Do not let Debian's maintainer scripts start daemons (postgresql, prometheus, nginx, etcd):
# tests start their own instances on 127.0.0.1 with their own data directories.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && $SUDO rm -f "$policy"' EXIT

$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-system: done"
