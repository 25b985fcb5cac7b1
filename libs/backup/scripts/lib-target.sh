# shellcheck shell=bash
# Part of lib.sh, sourced by it (never on its own).
# A restore's target and the full backup it starts from (restore.sh, offsite.sh fetch). Times are compared in microseconds, as PostgreSQL compares a
# recovery_target_time with commit times: a whole-second comparison let a target inside the
# second of the newest archived commit pass (and fail later inside PostgreSQL) and refused a
# target just after a backup's end (with a message naming an end before the target).

# to_us TIME: microseconds since the epoch of an ISO 8601 time (fractions kept).
to_us() { date -u -d "$1" +%s%6N 2>/dev/null || die "cannot parse time \"$1\" (use ISO 8601, e.g. 2026-01-31T14:05:00.250Z)"; }

# info_end_us INFO_FILE: the backup's end (server clock after it ended) in microseconds; backups
# recorded before end_time carried microseconds fall back to end_epoch (rounded up to a second).
info_end_us() {
  local t
  t=$(info_get "$1" end_time)
  if [[ "$t" =~ \.[0-9]{6}Z$ ]]; then to_us "$t"; else echo "$(info_get "$1" end_epoch)000000"; fi
}

# parse_target: sets target_kind (time | lsn | latest | immediate), target_value (what
# PostgreSQL is given) and target_us (time targets) from RESTORE_TARGET_TIME / _LSN / RESTORE_TARGET.
parse_target() {
  target_kind=latest target_value="" target_us=""
  if [[ -n "${RESTORE_TARGET_TIME:-}" ]]; then
    target_us=$(to_us "$RESTORE_TARGET_TIME")
    # PostgreSQL's own timestamp syntax, in UTC (it rejects ISO 8601's "T...Z" form).
    target_kind=time target_value=$(date -u -d "$RESTORE_TARGET_TIME" '+%Y-%m-%d %H:%M:%S.%6N+00')
  elif [[ -n "${RESTORE_TARGET_LSN:-}" ]]; then
    [[ "$RESTORE_TARGET_LSN" =~ ^[0-9A-Fa-f]+/[0-9A-Fa-f]+$ ]] || die "RESTORE_TARGET_LSN must look like 0/3000060, got \"${RESTORE_TARGET_LSN}\""
    target_kind=lsn target_value=${RESTORE_TARGET_LSN^^}
  else
    target_kind=${RESTORE_TARGET:-latest}
    [[ "$target_kind" == latest || "$target_kind" == immediate ]] ||
      die "RESTORE_TARGET must be latest or immediate (or set RESTORE_TARGET_TIME / RESTORE_TARGET_LSN), got \"${target_kind}\""
  fi
}

# select_backup: sets backup (its directory) to RESTORE_BACKUP_ID, or the newest good backup of
# $BACKUP_DIR/full that ended at or before the target.
select_backup() {
  local -a backups
  local i b
  mapfile -t backups < <(good_backups)
  ((${#backups[@]} > 0)) || die "no good full backup in ${BACKUP_DIR}/full"
  backup=""
  if [[ -n "${RESTORE_BACKUP_ID:-}" ]]; then
    backup="$BACKUP_DIR/full/$RESTORE_BACKUP_ID"
    [[ -f "$backup/backup.info" && "$(info_get "$backup/backup.info" status)" == ok ]] ||
      die "RESTORE_BACKUP_ID ${RESTORE_BACKUP_ID} is not a good full backup in ${BACKUP_DIR}/full"
    if [[ "$target_kind" == time ]] && (($(info_end_us "$backup/backup.info") > target_us)); then
      die "backup ${RESTORE_BACKUP_ID} ended at $(info_get "$backup/backup.info" end_time), after the target ${target_value}; pick an older backup or leave RESTORE_BACKUP_ID unset"
    fi
    return 0
  fi
  for ((i = ${#backups[@]} - 1; i >= 0; i--)); do
    b=${backups[i]}
    case "$target_kind" in
      time) (($(info_end_us "$b/backup.info") <= target_us)) || continue ;;
      lsn) (($(lsn_to_dec "$(info_get "$b/backup.info" end_lsn)") <= $(lsn_to_dec "$target_value"))) || continue ;;
    esac
    backup=$b
    break
  done
  [[ -n "$backup" ]] || die "no full backup ended at or before the target ${target_value}; the oldest ended at $(info_get "${backups[0]}/backup.info" end_time)"
}

# check_target_archived LOG: a time target after the newest archived WAL (LOG: incremental.log,
# whose last line records the server time up to which WAL was archived) is refused up front;
# PostgreSQL would replay everything and then stop with "recovery ended before configured
# recovery target was reached".
check_target_archived() {
  local last last_time
  [[ "$target_kind" == time && -s "$1" ]] || return 0
  last=$(tail -n 1 "$1")
  last_time=$(sed -n 's/.* time=\([^ ]*\).*/\1/p' <<<"$last")
  [[ -n "$last_time" ]] || return 0
  if ((target_us > $(to_us "$last_time"))); then
    die "target ${target_value} is after the newest archived WAL (${last_time}); run the incremental backup first or pick an earlier time"
  fi
}
