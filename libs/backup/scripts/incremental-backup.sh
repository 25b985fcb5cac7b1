#!/usr/bin/env bash
# Incremental backup (CronJob bitpin-incremental-backup, every 15 minutes): archives WAL.
# PostgreSQL 15 has no incremental base backups and CloudNativePG owns archive_command, so WAL
# is pulled over the replication protocol from a dedicated physical slot:
#   1. the slot exists and was not invalidated (else the archive has a gap: fail loudly);
#   2. a sentinel row is committed; the WAL segment is switched (when the role may);
#   3. pg_receivewal streams from where the archive stops up to the current flush LSN (--endpos)
#      and confirms it to the slot, so no segment is missed between runs, across restarts and
#      (with CloudNativePG's slot synchronisation) failovers;
#   4. new complete segments get SHA-256 checksums; the archive is checked for gaps;
#   5. the run is recorded in incremental.log (LSN, server time, sentinel state).
# The segment still being written stays as <name>.partial; restores use it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_backup_dir
require_number BACKUP_RECEIVE_TIMEOUT "$BACKUP_RECEIVE_TIMEOUT"

run_id=$(date -u +%Y%m%dT%H%M%SZ)
wal_dir="$BACKUP_DIR/wal"
trap 'rc=$?; [[ $rc -eq 0 ]] || log "ERROR incremental backup ${run_id} failed (exit ${rc})"' EXIT

take_lock
info "incremental backup ${run_id}: WAL from ${PGHOST:-local}:${PGPORT:-5432} (sslmode ${PGSSLMODE:-default}, slot ${BACKUP_SLOT}) into ${wal_dir}"
ensure_slot
sentinel=$(write_sentinel incremental "$run_id")

switched=no
case "$BACKUP_SWITCH_WAL" in
  off) ;;
  auto | required)
    if out=$(q "SELECT pg_switch_wal()" 2>&1); then
      switched=yes
    elif [[ "$BACKUP_SWITCH_WAL" == required || "$out" != *"permission denied"* ]]; then
      die "pg_switch_wal() failed: ${out//$'\n'/ } (grant EXECUTE on pg_catalog.pg_switch_wal() to the backup role, docs/runbooks/restore.md#setup)"
    else
      warn "the backup role may not call pg_switch_wal(); the open segment is archived as .partial instead (grant EXECUTE, docs/runbooks/restore.md#setup)"
    fi
    ;;
  *) die "BACKUP_SWITCH_WAL must be auto, required or off, got \"${BACKUP_SWITCH_WAL}\"" ;;
esac

pos=$(q "SELECT pg_current_wal_flush_lsn() || ' ' || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || ' ' || floor(extract(epoch FROM clock_timestamp()))::bigint")
read -r endpos end_iso end_epoch <<<"$pos"
[[ "$endpos" =~ ^[0-9A-F]+/[0-9A-F]+$ ]] || die "cannot read the current WAL position: ${pos}"
# pg_receivewal stops only once it has received WAL at or beyond --endpos; on an idle server
# nothing would come, so write one tiny record past it.
q "SELECT pg_logical_emit_message(true, 'bitpin-backup', 'run ${run_id} endpos ${endpos}')" >/dev/null

t0=$(date +%s)
compress_opt=()
[[ "$BACKUP_COMPRESSION" == none ]] || compress_opt=(--compress="$BACKUP_COMPRESSION")
rc=0
timeout "$BACKUP_RECEIVE_TIMEOUT" pg_receivewal -D "$wal_dir" --slot="$BACKUP_SLOT" --endpos="$endpos" \
  --no-loop --synchronous --no-password "${compress_opt[@]}" --verbose || rc=$?
if [[ $rc -eq 124 ]]; then die "pg_receivewal did not reach ${endpos} within ${BACKUP_RECEIVE_TIMEOUT}s"; fi
[[ $rc -eq 0 ]] || die "pg_receivewal failed (exit ${rc}) before reaching ${endpos}"

# Checksums of segments completed since the last run (.partial files still change).
sums="$wal_dir/SHA256SUMS"
touch "$sums"
declare -A known=()
while read -r _ name; do known[$name]=1; done <"$sums"
fresh=()
for f in "$wal_dir"/*; do
  name=${f##*/}
  [[ "$name" =~ ^([0-9A-F]{24}|[0-9A-F]{8}\.history)(\.(gz|lz4|zst))?$ ]] || continue
  [[ -z "${known[$name]:-}" ]] || continue
  fresh+=("$name")
done
new=${#fresh[@]}
sha256_list "$wal_dir" "${fresh[@]}" >>"$sums"
sync "$wal_dir"

# No gap from the oldest good base backup (or the first archived segment) up to endpos.
last_segno=$(($(lsn_to_dec "$endpos") / WAL_SEG_SIZE))
bash "$BITPIN_SCRIPTS_DIR/check.sh" --wal-only --upto-segno "$last_segno"

read -r s_id s_count s_md5 <<<"${sentinel:-- - -}"
printf 'run_id=%s lsn=%s time=%s epoch=%s switched=%s sentinel_id=%s sentinel_count=%s sentinel_md5=%s\n' \
  "$run_id" "$endpos" "$end_iso" "$end_epoch" "$switched" "$s_id" "$s_count" "$s_md5" >>"$BACKUP_DIR/incremental.log"
sync "$BACKUP_DIR/incremental.log"
info "archived WAL up to ${endpos} (server time ${end_iso}) in $(($(date +%s) - t0))s: ${new} new file(s); switched=${switched}"
check_volume
