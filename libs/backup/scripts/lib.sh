# shellcheck shell=bash
# Common functions of the bitpin backup scripts. Sourced, never run.
#
# Every script is driven by environment variables only, so it runs the same in the CronJob's
# container and on a workstation (see libs/backup/README.md for the full list):
#   libpq:   PGHOST PGPORT PGUSER PGPASSWORD|PGPASSFILE PGSSLMODE PGSSLROOTCERT PGDATABASE ...
#   backup:  BACKUP_DIR (required) BACKUP_SLOT BACKUP_KEEP_FULL BACKUP_RETENTION_DAYS ...
#
# Conventions: log lines go to stderr as "<UTC time> <script> <LEVEL> <message>"; any failure
# ends the script with a non-zero status (set -euo pipefail + an ERR trap that names the line).
#
# The functions live in parts beside this file, sourced below in this order (ConfigMap keys hold no
# "/", so they are flat lib-*.sh files next to the scripts): lib-settings.sh (settings,
# require_backup_dir), lib-sql.sh (q, the clock, WAL names and positions), lib-compression.sh
# (unpacking, SHA-256 lists, untar; runs bitpin_inflate.py and bitpin_sha256.py), lib-catalog.sh
# (the full backups), lib-lock.sh (run lock, volume fill), lib-slot.sh (the replication slot),
# lib-sentinel.sh (the sentinel row) and lib-wal.sh (the WAL receiver's lock, .partial checksums,
# advancing the backup slot).

set -euo pipefail
set -o errtrace
shopt -s nullglob

BITPIN_SCRIPT=${BITPIN_SCRIPT:-$(basename "${BASH_SOURCE[1]:-$0}" .sh)}
# This file's directory: its parts and Python programs are always the ones beside it.
BITPIN_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BITPIN_SCRIPTS_DIR=${BITPIN_SCRIPTS_DIR:-$BITPIN_LIB_DIR}

log() { printf '%s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$BITPIN_SCRIPT" "$*" >&2; }
info() { log "INFO $*"; }
warn() { log "WARNING $*"; }
die() {
  log "ERROR $*"
  exit 1
}
trap 'rc=$?; log "ERROR line ${LINENO}: \"${BASH_COMMAND}\" exited with ${rc}"; exit ${rc}' ERR

# PostgreSQL client binaries: PG_BINDIR wins, then PATH, then the Debian/CNPG location (Debian puts
# only some tools on PATH through wrappers; pg_verifybackup and pg_waldump are not among them).
if [[ -n "${PG_BINDIR:-}" ]]; then
  PATH="${PG_BINDIR}:${PATH}"
elif ! command -v pg_verifybackup >/dev/null 2>&1; then
  for d in /usr/lib/postgresql/*/bin; do PATH="${d}:${PATH}"; done
fi
export PATH

# shellcheck source=lib-settings.sh
source "$BITPIN_LIB_DIR/lib-settings.sh"
# shellcheck source=lib-sql.sh
source "$BITPIN_LIB_DIR/lib-sql.sh"
# shellcheck source=lib-compression.sh
source "$BITPIN_LIB_DIR/lib-compression.sh"
# shellcheck source=lib-catalog.sh
source "$BITPIN_LIB_DIR/lib-catalog.sh"
# shellcheck source=lib-lock.sh
source "$BITPIN_LIB_DIR/lib-lock.sh"
# shellcheck source=lib-slot.sh
source "$BITPIN_LIB_DIR/lib-slot.sh"
# shellcheck source=lib-sentinel.sh
source "$BITPIN_LIB_DIR/lib-sentinel.sh"
# shellcheck source=lib-target.sh
source "$BITPIN_LIB_DIR/lib-target.sh"
# shellcheck source=lib-offsite.sh
source "$BITPIN_LIB_DIR/lib-offsite.sh"
# shellcheck source=lib-wal.sh
source "$BITPIN_LIB_DIR/lib-wal.sh"
