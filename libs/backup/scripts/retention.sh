#!/usr/bin/env bash
# Retention of the backup volume. Run by every full backup after it published; also runnable by
# hand (BACKUP_DRY_RUN=true only reports). The rules, in order:
#   - a full backup is kept when it is one of the newest BACKUP_KEEP_FULL good backups, or it
#     ended less than BACKUP_RETENTION_DAYS days ago, or it is the newest backup that ended before
#     that window (it is needed to restore to the window's first moments);
#   - the newest good backup is never deleted, whatever the settings;
#   - WAL segments older than the start of the oldest kept backup are deleted (timeline history
#     files are kept; they are tiny and every restore may need them); with no good backup at all,
#     no WAL is deleted;
#   - directories of failed runs (full/.partial-*) are deleted once older than a day.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_backup_dir
require_number BACKUP_KEEP_FULL "$BACKUP_KEEP_FULL"
require_number BACKUP_RETENTION_DAYS "$BACKUP_RETENTION_DAYS"
[[ "$BACKUP_KEEP_FULL" -ge 1 ]] || die "BACKUP_KEEP_FULL must be at least 1, got ${BACKUP_KEEP_FULL}"
dry=${BACKUP_DRY_RUN:-false}
[[ "${BACKUP_LOCK_HELD:-}" == 1 ]] || take_lock

now=$(now_epoch)
cutoff=$((now - BACKUP_RETENTION_DAYS * 86400))

remove() { # path reason
  if [[ "$dry" == true ]]; then
    info "would delete ${1#"$BACKUP_DIR"/} (${2})"
  else
    rm -rf -- "$1"
    info "deleted ${1#"$BACKUP_DIR"/} (${2})"
  fi
}

mapfile -t backups < <(good_backups)
n=${#backups[@]}
declare -A keep=()
anchor=""
for ((i = 0; i < n; i++)); do
  b=${backups[i]}
  end=$(info_get "$b/backup.info" end_epoch)
  require_number "end_epoch of $b" "$end"
  if ((i >= n - BACKUP_KEEP_FULL)); then keep[$b]="one of the newest ${BACKUP_KEEP_FULL}"; fi
  if ((end >= cutoff)); then keep[$b]="younger than ${BACKUP_RETENTION_DAYS} days"; else anchor=$b; fi
done
[[ -z "$anchor" || -n "${keep[$anchor]:-}" ]] || keep[$anchor]="newest backup before the ${BACKUP_RETENTION_DAYS}-day window"
((n == 0)) || keep[${backups[n - 1]}]="newest good backup"

oldest_kept=""
for b in "${backups[@]}"; do
  if [[ -n "${keep[$b]:-}" ]]; then
    [[ -n "$oldest_kept" ]] || oldest_kept=$b
  else
    remove "$b" "ended $(info_get "$b/backup.info" end_time); beyond ${BACKUP_KEEP_FULL} backups and ${BACKUP_RETENTION_DAYS} days"
  fi
done

for d in "$BACKUP_DIR"/full/.partial-*; do
  if [[ -n "$(find "$d" -maxdepth 0 -mmin +1440)" ]]; then remove "$d" "left by a failed run"; fi
done
for d in "$BACKUP_DIR"/full/*/; do
  d=${d%/}
  [[ -f "$d/backup.info" && "$(info_get "$d/backup.info" status)" == ok ]] || warn "${d#"$BACKUP_DIR"/} is not a good backup; left in place"
done

if [[ -z "$oldest_kept" ]]; then
  info "no good full backup yet: no WAL deleted"
  exit 0
fi
start_wal=$(info_get "$oldest_kept/backup.info" start_wal)
[[ "$start_wal" =~ ^[0-9A-F]{24}$ ]] || die "backup ${oldest_kept##*/} has no valid start_wal"
first_needed=$(wal_segno "$start_wal")
deleted=0 doomed=()
declare -A gone=()
for f in "$BACKUP_DIR"/wal/*; do
  name=${f##*/}
  [[ "$name" =~ ^[0-9A-F]{24}(\.(gz|lz4|zst))?(\.partial)?$ ]] || continue
  # wal_segno, without a subshell per file (an archive holds thousands)
  if (((16#${name:8:8} * 4294967296 / WAL_SEG_SIZE) + 16#${name:16:8} < first_needed)); then
    if [[ "$dry" == true ]]; then info "would delete wal/${name}"; else doomed+=("$f"); fi
    gone[$name]=1
    deleted=$((deleted + 1))
  fi
done
((${#doomed[@]} == 0)) || rm -f -- "${doomed[@]}"
if [[ "$dry" != true && $deleted -gt 0 && -f "$BACKUP_DIR/wal/SHA256SUMS" ]]; then
  while read -r sum name; do
    [[ -n "${gone[$name]:-}" ]] || printf '%s  %s\n' "$sum" "$name"
  done <"$BACKUP_DIR/wal/SHA256SUMS" >"$BACKUP_DIR/wal/SHA256SUMS.new"
  mv "$BACKUP_DIR/wal/SHA256SUMS.new" "$BACKUP_DIR/wal/SHA256SUMS"
fi
# shellcheck disable=SC2015 # || true only keeps the substitution's status 0
info "retention: ${#keep[@]} full backup(s) kept (oldest ${oldest_kept##*/}), ${deleted} WAL file(s) before ${start_wal} $([[ "$dry" == true ]] && echo 'would be ' || true)deleted"
