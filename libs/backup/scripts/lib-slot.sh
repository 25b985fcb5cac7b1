# shellcheck shell=bash
# Part of lib.sh, sourced by it (never on its own).

# ---- replication slot -----------------------------------------------------------------------
# Creates the WAL slot (reserving WAL at once, which pg_receivewal --create-slot does not) and
# refuses to go on when PostgreSQL invalidated it (max_slot_wal_keep_size): WAL is then missing.
ensure_slot() {
  local status
  status=$(q "SELECT coalesce(wal_status, 'unreserved') FROM pg_replication_slots WHERE slot_name = '${BACKUP_SLOT}'")
  if [[ -z "$status" ]]; then
    q "SELECT pg_create_physical_replication_slot('${BACKUP_SLOT}', true)" >/dev/null
    info "created physical replication slot ${BACKUP_SLOT}"
    return 0
  fi
  if [[ "$status" == lost ]]; then
    die "replication slot ${BACKUP_SLOT} was invalidated (WAL beyond max_slot_wal_keep_size was removed): the WAL archive has a gap; drop the slot, run the full backup, see docs/runbooks/restore.md#slot-lost"
  fi
  [[ "$status" != unreserved ]] || warn "replication slot ${BACKUP_SLOT} reserves no WAL yet"
}
