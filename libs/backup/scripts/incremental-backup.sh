#!/usr/bin/env bash
# Incremental backup (CronJob bitpin-incremental-backup, every 15 minutes): closes, checksums,
# gap-checks and publishes the WAL archive. PostgreSQL 15 has no incremental base backups and
# CloudNativePG owns archive_command, so WAL comes over the replication protocol:
#   1. the slot exists and was not invalidated (else the archive has a gap: fail loudly);
#   2. a sentinel row is committed; the WAL segment is switched (when the role may);
#   3. the WAL up to the current flush LSN reaches the archive:
#      - receiver mode: the WAL receiver (wal-receiver.sh) holds wal/.receiver.lock and streams
#        continuously; this run waits (BACKUP_RECEIVER_WAIT) until it has confirmed the position;
#      - fallback (no receiver streaming, today's behaviour): pg_receivewal streams from the slot
#        from where the archive stops up to the position (--endpos) and stops;
#      either way the slot is then advanced to that position, so the primary keeps no WAL the
#      archive already has (and no segment is missed between runs, across restarts and, with
#      CloudNativePG's slot synchronisation, failovers);
#   4. new complete segments are compressed (BACKUP_COMPRESSION; pg_receivewal writes plain WAL)
#      and get SHA-256 checksums, the open .partial one a checksum of the WAL
#      in it that no longer changes (SHA256SUMS.partial); the archive is checked for gaps;
#   5. the run is recorded in incremental.log (LSN, server time, sentinel state, mode).
# The segment still being written stays as <name>.partial; restores use it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_backup_dir
require_number BACKUP_RECEIVE_TIMEOUT "$BACKUP_RECEIVE_TIMEOUT"

run_id=$(date -u +%Y%m%dT%H%M%SZ)
wal_dir="$BACKUP_DIR/wal"
# SHA-256 of the files this run compresses, taken as they are written (sha256_list_known).
run_sums=$(mktemp "${TMPDIR:-/tmp}/bitpin-sums.XXXXXX")
compressing=""
trap 'rc=$?; rm -f "$run_sums" ${compressing:+"$compressing"}; [[ $rc -eq 0 ]] || log "ERROR incremental backup ${run_id} failed (exit ${rc})"' EXIT

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

# The position and the server's clock, then (pg_receivewal stops only once it has received WAL at
# or beyond --endpos, and on an idle server nothing would come) one tiny record written past it:
# one statement, the position read first (a materialised CTE the message's text depends on).
pos=$(q "WITH p AS MATERIALIZED (SELECT pg_current_wal_flush_lsn() AS l, clock_timestamp() AS c)
  SELECT p.l || ' ' || to_char(p.c AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || ' ' || floor(extract(epoch FROM p.c))::bigint
    FROM p, LATERAL pg_logical_emit_message(true, 'bitpin-backup', 'run ${run_id} endpos ' || p.l) AS m")
read -r endpos end_iso end_epoch <<<"$pos"
[[ "$endpos" =~ ^[0-9A-F]+/[0-9A-F]+$ ]] || die "cannot read the current WAL position: ${pos}"

t0=$(date +%s)
# Receiver mode when the WAL receiver holds the archive's lock; else this run takes it (the
# receiver then waits) and streams itself.
exec 8>>"$(receiver_lock_file)"
if flock -n 8; then
  mode=fallback
  rc=0
  # Plain WAL, like the receiver's (a compressed .partial cannot be resumed); each segment it
  # completes is compressed at once, beside it (the other core), and what is left when it stops
  # on both cores.
  compressing=$(mktemp "${TMPDIR:-/tmp}/bitpin-compressing.XXXXXX")
  compress_follow "$wal_dir" "$compressing" "$run_sums" &
  compressor=$!
  # No --synchronous: nothing waits on this stream's confirmations, and pg_receivewal fsyncs each
  # segment as it closes it and the open one when it stops at --endpos; the slot is advanced below
  # only once it has (an fsync per message of plain WAL cost ~2x here).
  timeout "$BACKUP_RECEIVE_TIMEOUT" pg_receivewal -D "$wal_dir" --slot="$BACKUP_SLOT" --endpos="$endpos" \
    --no-loop --no-password --verbose || rc=$?
  # The follower compresses what is left and ends (a failure is retried by the publish step below).
  rm -f "$compressing"
  wait "$compressor" 2>/dev/null || true
  if [[ $rc -eq 124 ]]; then die "pg_receivewal did not reach ${endpos} within ${BACKUP_RECEIVE_TIMEOUT}s"; fi
  [[ $rc -eq 0 ]] || die "pg_receivewal failed (exit ${rc}) before reaching ${endpos}"
else
  mode=receiver
  require_number BACKUP_RECEIVER_WAIT "$BACKUP_RECEIVER_WAIT"
  got="" seen="" deadline=$(($(date +%s) + BACKUP_RECEIVER_WAIT))
  while :; do
    # The receiver's slot follows the position it confirms as flushed (pg_stat_replication shows
    # it only to pg_read_all_stats, which the backup role does not need).
    seen=$(q "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = '${BACKUP_RECEIVER_SLOT}' AND active")
    if [[ -n "$seen" ]] && (($(lsn_to_dec "$seen") >= $(lsn_to_dec "$endpos"))); then
      got=$seen
      break
    fi
    (($(date +%s) < deadline)) || break
    sleep 0.2
  done
  [[ -n "$got" ]] || die "the WAL receiver (${BACKUP_RECEIVER_NAME}) holds the archive but did not confirm ${endpos} within ${BACKUP_RECEIVER_WAIT}s (it confirmed ${seen:-nothing}: not connected?); see docs/runbooks/restore.md#wal-receiver"
  info "the WAL receiver has confirmed ${got} (at or beyond ${endpos})"
fi
# The slot has served its purpose up to endpos: what lies before it is in the archive, fsync'd
# (advanced beside the publishing below; waited for before the run is recorded).
advance_slot "$BACKUP_SLOT" "$endpos" &
advancing=$!

# Publish: complete segments and history files (written plain) compressed with
# BACKUP_COMPRESSION, fsync'd and renamed into place; .partial files of completed segments removed.
compress_published "$wal_dir" "$run_sums"

# Checksums of segments completed since the last run (.partial files still change).
sums="$wal_dir/SHA256SUMS"
touch "$sums"
declare -A known=()
while read -r _ name; do known[$name]=1; done <"$sums"
fresh=()
for f in "$wal_dir"/*; do
  name=${f##*/}
  [[ "$name" =~ ^([0-9A-F]{24}|[0-9A-F]{8}\.history)(\.(gz|lz4|zst))?$ ]] || continue
  # A plain one the receiver completed just now is compressed (and checksummed) by the next run.
  [[ "$BACKUP_COMPRESSION" == none || -n "${BASH_REMATCH[2]}" ]] || continue
  [[ -z "${known[$name]:-}" ]] || continue
  fresh+=("$name")
done
new=${#fresh[@]}
sha256_list_known "$run_sums" "$wal_dir" "${fresh[@]}" >>"$sums"
# No gap from the oldest good base backup (or the first archived segment) up to endpos (file
# names only: checked beside the .partial checksum below; the run fails unless both succeed).
last_segno=$(($(lsn_to_dec "$endpos") / WAL_SEG_SIZE))
bash "$BITPIN_SCRIPTS_DIR/check.sh" --wal-only --upto-segno "$last_segno" &
checking=$!
# The open segment: all of it when this run streamed (nobody writes now), else what the receiver confirmed.
write_partial_sums "$wal_dir" "$([[ "$mode" == fallback ]] && echo all || echo "$got")"
sync "$wal_dir"
wait "$checking"
wait "$advancing"

read -r s_id s_count s_md5 <<<"${sentinel:-- - -}"
printf 'run_id=%s lsn=%s time=%s epoch=%s switched=%s sentinel_id=%s sentinel_count=%s sentinel_md5=%s mode=%s\n' \
  "$run_id" "$endpos" "$end_iso" "$end_epoch" "$switched" "$s_id" "$s_count" "$s_md5" "$mode" >>"$BACKUP_DIR/incremental.log"
sync "$BACKUP_DIR/incremental.log"
info "archived WAL up to ${endpos} (server time ${end_iso}) in $(($(date +%s) - t0))s: ${new} new file(s); switched=${switched}; mode=${mode}; slot ${BACKUP_SLOT} advanced"
check_volume
