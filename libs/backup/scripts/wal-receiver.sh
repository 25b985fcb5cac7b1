#!/usr/bin/env bash
# The WAL receiver (Deployment bitpin-wal-receiver, one replica, Recreate): streams WAL into
# $BACKUP_DIR/wal as the primary writes it, so the archive is seconds behind, not 15 minutes.
#   - pg_receivewal (plain WAL: PostgreSQL 15's pg_receivewal cannot resume a compressed .partial
#     segment and overwrites it in place without truncating it, damaging it; the incremental run
#     compresses complete segments with BACKUP_COMPRESSION when it publishes them) from its own
#     physical slot (BACKUP_RECEIVER_SLOT, created reserving WAL at
#     once; an invalidated one is recreated and the gap reported by the next incremental run),
#     --synchronous: every piece of WAL is fsync'd before its position is confirmed to the
#     primary, so what the primary counts as received (and, in synchronous mode, acknowledges
#     commits on) is on the volume; application_name BACKUP_RECEIVER_NAME;
#   - a supervising loop restarts it when it ends (primary restart, failover, network), with a
#     backoff from 1 s up to BACKUP_RECEIVER_RESTART_DELAY (30 s); the Pod's restartPolicy
#     restarts the whole container when this script dies;
#   - while pg_receivewal runs it holds wal/.receiver.lock, so an incremental run in its fallback
#     (which runs pg_receivewal itself when the receiver is down) never writes at the same time;
#   - every BACKUP_RECEIVER_METRICS_INTERVAL (2 s) it asks the primary how far behind it is and
#     writes Prometheus metrics to $BACKUP_RECEIVER_STATUS_DIR/metrics.prom (served by
#     bitpin_metrics_http.py) and, while caught up, wal/receiver.status: the server time up to
#     which every commit is in the archive (restore.sh accepts targets up to it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_backup_dir
interval=${BACKUP_RECEIVER_METRICS_INTERVAL:-2}
max_delay=${BACKUP_RECEIVER_RESTART_DELAY:-30}
status_interval=${BACKUP_RECEIVER_STATUS_INTERVAL:-10}
require_number BACKUP_RECEIVER_METRICS_INTERVAL "$interval"
require_number BACKUP_RECEIVER_RESTART_DELAY "$max_delay"
require_number BACKUP_RECEIVER_STATUS_INTERVAL "$status_interval"
[[ "$BACKUP_RECEIVER_NAME" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] ||
  die "BACKUP_RECEIVER_NAME must be a lower-case identifier (the name synchronous_standby_names lists), got \"${BACKUP_RECEIVER_NAME}\""
status_dir=${BACKUP_RECEIVER_STATUS_DIR:-${TMPDIR:-/tmp}/bitpin-wal-receiver}
mkdir -p "$status_dir"
wal_dir="$BACKUP_DIR/wal"
lockf=$(receiver_lock_file)
echo 0 >"$status_dir/restarts"
rm -f "$status_dir/receivewal.pid"

# The receiver's slot: created reserving WAL at once; an invalidated one (max_slot_wal_keep_size)
# is dropped and recreated: the archive then has a gap the next incremental run reports loudly.
ensure_receiver_slot() {
  local status
  status=$(q "SELECT coalesce(wal_status, 'unreserved') FROM pg_replication_slots WHERE slot_name = '${BACKUP_RECEIVER_SLOT}'") || return 1
  if [[ "$status" == lost ]]; then
    warn "replication slot ${BACKUP_RECEIVER_SLOT} was invalidated (WAL beyond max_slot_wal_keep_size was removed); recreating it: the WAL archive may have a gap, see docs/runbooks/restore.md#slot-lost"
    q "SELECT pg_drop_replication_slot('${BACKUP_RECEIVER_SLOT}')" >/dev/null || return 1
    status=""
  fi
  if [[ -z "$status" ]]; then
    # A copy of the backup slot (when there is one) starts where the archive needs WAL from: an
    # empty archive is then filled from there (pg_receivewal starts at the slot's restart_lsn).
    if [[ -n "$(q "SELECT 1 FROM pg_replication_slots WHERE slot_name = '${BACKUP_SLOT}' AND restart_lsn IS NOT NULL")" ]]; then
      q "SELECT pg_copy_physical_replication_slot('${BACKUP_SLOT}', '${BACKUP_RECEIVER_SLOT}')" >/dev/null || return 1
      info "created physical replication slot ${BACKUP_RECEIVER_SLOT} as a copy of ${BACKUP_SLOT}"
    else
      q "SELECT pg_create_physical_replication_slot('${BACKUP_RECEIVER_SLOT}', true)" >/dev/null || return 1
      info "created physical replication slot ${BACKUP_RECEIVER_SLOT}"
    fi
  fi
}

# The supervising loop (a child process): pg_receivewal, restarted whenever it ends.
receive_loop() {
  local delay=1 rc started rpid
  trap '[[ -z "${rpid:-}" ]] || kill -TERM "$rpid" 2>/dev/null; wait 2>/dev/null; exit 0' TERM INT
  while :; do
    exec 8>>"$lockf"
    if ! flock -n 8; then
      info "an incremental run holds ${lockf} (its fallback streams WAL); waiting for it"
      flock 8
    fi
    rc=0
    if ensure_receiver_slot; then
      started=$(date +%s)
      info "streaming WAL from ${PGHOST:-local}:${PGPORT:-5432} (slot ${BACKUP_RECEIVER_SLOT}, application_name ${BACKUP_RECEIVER_NAME}) into ${wal_dir}"
      PGAPPNAME=$BACKUP_RECEIVER_NAME pg_receivewal -D "$wal_dir" --slot="$BACKUP_RECEIVER_SLOT" --synchronous --no-loop \
        --no-password --status-interval="$status_interval" &
      rpid=$!
      echo "$rpid" >"$status_dir/receivewal.pid"
      wait "$rpid" || rc=$?
      rpid=""
      rm -f "$status_dir/receivewal.pid"
      (($(date +%s) - started < 60)) || delay=1
    else
      rc=1
    fi
    flock -u 8
    exec 8>&-
    echo $(($(cat "$status_dir/restarts") + 1)) >"$status_dir/restarts"
    warn "pg_receivewal ended (exit ${rc}); restarting in ${delay}s"
    sleep "$delay" &
    wait $! || true
    delay=$((delay * 2 > max_delay ? max_delay : delay * 2))
  done
}

receive_loop &
loop_pid=$!
trap 'kill -TERM "$loop_pid" 2>/dev/null; wait "$loop_pid" 2>/dev/null; info "stopped"; exit 0' TERM INT
trap 'kill -TERM "$loop_pid" 2>/dev/null || true' EXIT

# ---- lag, every $interval seconds -----------------------------------------------------------
started_epoch=$(date +%s)
caught_up="" prev_flush="" prev_epoch=""
metric() { printf '# HELP %s %s\n# TYPE %s %s\n%s %s\n' "$1" "$3" "$1" "${4:-gauge}" "$1" "$2"; }
while :; do
  kill -0 "$loop_pid" 2>/dev/null || die "the receiving loop ended"
  streaming=0 reachable=0 lag_bytes="" now=""
  [[ -f "$status_dir/receivewal.pid" ]] && kill -0 "$(cat "$status_dir/receivewal.pid" 2>/dev/null || echo 0)" 2>/dev/null && streaming=1
  # The primary's flush position, what the receiver confirmed as flushed (its slot's restart_lsn
  # follows it; pg_stat_replication shows positions only to pg_read_all_stats), whether the slot
  # is in use, the server's clock.
  if row=$(q "SELECT f, r, greatest(0, pg_wal_lsn_diff(f, coalesce(r, f))), a, extract(epoch FROM clock_timestamp())::numeric(20,6)
                FROM (SELECT pg_current_wal_flush_lsn() AS f, s.restart_lsn AS r, coalesce(s.active, false) AS a
                        FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = '${BACKUP_RECEIVER_SLOT}') x" 2>/dev/null); then
    IFS='|' read -r flush received lag_bytes active now <<<"$row"
    reachable=1
    now_s=${now%.*}
    [[ "$active" == t ]] || streaming=0
    # Caught up to a point in time: everything the primary had flushed then is received.
    if [[ -n "$received" && "$lag_bytes" == 0 ]]; then
      caught_up=$now
    elif [[ -n "$received" && -n "$prev_flush" ]] && (($(lsn_to_dec "$received") >= $(lsn_to_dec "$prev_flush"))); then
      caught_up=$prev_epoch
    fi
    prev_flush=$flush prev_epoch=$now
    if [[ -n "$caught_up" && "$streaming" == 1 ]]; then
      printf 'lsn=%s epoch=%s time=%s\n' "$received" "$caught_up" "$(date -u -d "@${caught_up}" +%Y-%m-%dT%H:%M:%S.%6NZ)" >"$wal_dir/.receiver.status.tmp" &&
        mv -f "$wal_dir/.receiver.status.tmp" "$wal_dir/receiver.status"
    fi
  else
    now=$(date +%s.%6N)
    now_s=${now%.*}
  fi
  # Complete segments compressed as they complete (the incremental run publishes them).
  compress_published "$wal_dir" 2>/dev/null || warn "compressing complete segments in ${wal_dir} failed; the incremental run retries"
  lag_seconds=$(awk -v n="$now" -v c="${caught_up:-$started_epoch}" 'BEGIN { d = n - c; printf "%.3f", d < 0 ? 0 : d }')
  newest=$(find "$wal_dir" -maxdepth 1 -name '0*' -printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
  {
    metric bitpin_wal_receiver_up "$streaming" 'Whether pg_receivewal is connected to the primary and streaming (1) or not (0).'
    metric bitpin_wal_receiver_primary_reachable "$reachable" 'Whether the receiver could query the primary in its last check.'
    [[ -z "$lag_bytes" ]] || metric bitpin_wal_receiver_lag_bytes "$lag_bytes" "Bytes of WAL the primary has flushed that the receiver has not confirmed (flushed to the backup volume)."
    metric bitpin_wal_receiver_lag_seconds "$lag_seconds" 'Seconds since the receiver last had every WAL byte the primary had flushed.'
    [[ -z "$caught_up" ]] || metric bitpin_wal_receiver_caught_up_timestamp_seconds "$caught_up" 'Server time up to which every commit is in the WAL archive.'
    [[ -z "$newest" ]] || metric bitpin_wal_receiver_last_received_timestamp_seconds "${newest%.*}" 'When the newest file of the WAL archive was last written.'
    metric bitpin_wal_receiver_restarts_total "$(cat "$status_dir/restarts")" 'Times pg_receivewal ended and was restarted.' counter
    metric bitpin_wal_receiver_last_check_timestamp_seconds "$now_s" 'When the receiver last checked its lag.'
  } >"$status_dir/.metrics.prom.tmp"
  mv -f "$status_dir/.metrics.prom.tmp" "$status_dir/metrics.prom"
  sleep "$interval" &
  wait $! || true
done
