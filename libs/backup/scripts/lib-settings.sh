# shellcheck shell=bash
# Part of lib.sh, sourced by it (never on its own).

# ---- settings (defaults are the dev/prod values; the CronJobs set every one explicitly) -------
BACKUP_DIR=${BACKUP_DIR:-}
BACKUP_SLOT=${BACKUP_SLOT:-bitpin_backup}
BACKUP_KEEP_FULL=${BACKUP_KEEP_FULL:-7}
BACKUP_RETENTION_DAYS=${BACKUP_RETENTION_DAYS:-7}
BACKUP_VOLUME_WARN_RATIO=${BACKUP_VOLUME_WARN_RATIO:-0.8}
# pg_basebackup/pg_receivewal compression method[:level]: gzip keeps restores dependency-free.
BACKUP_COMPRESSION=${BACKUP_COMPRESSION:-gzip:1}
# auto: switch WAL when the role may (EXECUTE on pg_switch_wal), else keep the open segment as .partial;
# required: fail without the privilege; off: never switch.
BACKUP_SWITCH_WAL=${BACKUP_SWITCH_WAL:-auto}
# required: every run writes a sentinel row (restore verification checks it); off: none.
BACKUP_SENTINEL=${BACKUP_SENTINEL:-required}
BACKUP_SENTINEL_SCHEMA=${BACKUP_SENTINEL_SCHEMA:-bitpin_backup}
BACKUP_LOCK_TIMEOUT=${BACKUP_LOCK_TIMEOUT:-600}
BACKUP_RECEIVE_TIMEOUT=${BACKUP_RECEIVE_TIMEOUT:-600}
BACKUP_SCRATCH_DIR=${BACKUP_SCRATCH_DIR:-}
PGDATABASE=${PGDATABASE:-app}
export PGDATABASE
export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-10}
export PGAPPNAME=${PGAPPNAME:-bitpin-${BITPIN_SCRIPT}}

require_backup_dir() { # [ro]
  [[ -n "$BACKUP_DIR" ]] || die "BACKUP_DIR is not set; point it at the backup volume (e.g. /backup)"
  [[ -d "$BACKUP_DIR" ]] || die "BACKUP_DIR ${BACKUP_DIR} does not exist"
  [[ "${1:-}" != ro ]] || return 0
  [[ -w "$BACKUP_DIR" ]] || die "BACKUP_DIR ${BACKUP_DIR} is not writable by uid $(id -u)"
  mkdir -p "$BACKUP_DIR/full" "$BACKUP_DIR/wal" "$BACKUP_DIR/verify"
  [[ -n "$BACKUP_SCRATCH_DIR" ]] || BACKUP_SCRATCH_DIR="$BACKUP_DIR/.scratch"
  mkdir -p "$BACKUP_SCRATCH_DIR"
}

require_number() { # name value
  [[ "$2" =~ ^[0-9]+$ ]] || die "$1 must be a whole number, got \"$2\""
}
