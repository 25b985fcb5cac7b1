#!/usr/bin/env bash
# Integrity check of the backup volume; exits non-zero and lists every problem it finds:
#   - each good full backup: every file of its SHA256SUMS is present and matches;
#   - the WAL archive: every checksummed segment is present and matches; the open .partial
#     segment's WAL still starts with the bytes SHA256SUMS.partial recorded;
#   - continuity: no segment is missing from the start of the oldest good full backup (or the
#     first archived segment) up to the newest one.
# Options: --wal-only (skip checksums, continuity only), --upto-segno N (continuity up to N),
#          --backup ID (that one full backup and the WAL from its start), --no-wal (no WAL checks),
#          --skip-sum NAME (that file of the backup must be present but is not hashed here: the
#          caller hashes it while reading it, or does not use it; repeatable),
#          --no-wal-sums (WAL presence and continuity, no WAL checksums: wal-restore.sh checks
#          each segment's checksum before it hands it to a recovering server).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_backup_dir ro

wal_only=false upto="" only="" no_wal=false no_wal_sums=false
declare -A skip_sum=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --wal-only) wal_only=true ;;
    --upto-segno) upto=$2 && shift ;;
    --backup) only=$2 && shift ;;
    --no-wal) no_wal=true ;;
    --no-wal-sums) no_wal_sums=true ;;
    --skip-sum) skip_sum[$2]=1 && shift ;;
    *) die "unknown option $1 (use --wal-only, --upto-segno N, --backup ID, --no-wal, --no-wal-sums, --skip-sum NAME)" ;;
  esac
  shift
done

problems=()
problem() {
  problems+=("$*")
  log "ERROR $*"
}

mapfile -t backups < <(good_backups)
if [[ -n "$only" ]]; then
  [[ -f "$BACKUP_DIR/full/$only/backup.info" ]] || die "full backup ${only} does not exist in ${BACKUP_DIR}/full"
  backups=("$BACKUP_DIR/full/$only")
fi

# check_sums DIR WHAT SUMS_FILE [hash]: every file SUMS_FILE lists is in DIR; with "hash" (and
# not named by --skip-sum) its SHA-256 matches. All files are hashed by one process.
check_sums() {
  local dir=$1 what=$2 list=$3 mode=${4:-} sum name
  local -a sums=() names=() todo=()
  local -A got=()
  while read -r sum name; do
    [[ -n "$name" ]] || continue
    if [[ ! -f "$dir/$name" ]]; then
      # WAL past --upto-segno is not needed (a restore to a target before a gap).
      if [[ "$what" == "WAL " && -n "$upto" && "$name" =~ ^[0-9A-F]{24} ]] && (($(wal_segno "$name") > upto)); then continue; fi
      problem "${what}${name} is missing"
    elif [[ -n "${skip_sum[$name]:-}" ]]; then
      [[ -s "$dir/$name" ]] || problem "${what}${name} is empty"
    elif [[ "$mode" == hash ]]; then
      sums+=("$sum") names+=("$name") todo+=("$name")
    fi
  done <"$list"
  ((${#todo[@]} > 0)) || return 0
  while read -r sum name; do got[$name]=$sum; done < <(sha256_list "$dir" "${todo[@]}")
  for i in "${!names[@]}"; do
    [[ "${got[${names[i]}]:-}" == "${sums[i]}" ]] || problem "${what}${names[i]} is corrupted (SHA-256 mismatch)"
  done
}

if [[ "$wal_only" != true ]]; then
  for b in "${backups[@]}"; do
    id=${b##*/}
    if [[ ! -s "$b/SHA256SUMS" ]]; then
      problem "full backup ${id}: SHA256SUMS is missing"
      continue
    fi
    check_sums "$b" "full backup ${id}: " "$b/SHA256SUMS" hash
  done
  if [[ "$no_wal" != true && -f "$BACKUP_DIR/wal/SHA256SUMS" ]]; then
    check_sums "$BACKUP_DIR/wal" "WAL " "$BACKUP_DIR/wal/SHA256SUMS" "$([[ "$no_wal_sums" == true ]] || echo hash)"
  fi
  if [[ "$no_wal" != true && "$no_wal_sums" != true && -f "$BACKUP_DIR/wal/SHA256SUMS.partial" ]]; then
    # A .partial that was completed since (renamed) is checked by its own checksum instead.
    while read -r _ _ name; do
      [[ -f "$BACKUP_DIR/wal/$name" ]] || continue
      partial_sum_ok "$BACKUP_DIR/wal" "$name" || problem "WAL ${name} is corrupted (its WAL does not match SHA256SUMS.partial)"
    done <"$BACKUP_DIR/wal/SHA256SUMS.partial"
  fi
fi

declare -A have=()
min="" max=""
if [[ "$no_wal" != true ]]; then
  for f in "$BACKUP_DIR"/wal/*; do
    name=${f##*/}
    [[ "$name" =~ ^[0-9A-F]{24}(\.(gz|lz4|zst))?(\.partial)?$ ]] || continue
    s=$(((16#${name:8:8} * 4294967296 / WAL_SEG_SIZE) + 16#${name:16:8})) # wal_segno, without a subshell per file
    have[$s]=1
    [[ -n "$min" && $min -le $s ]] || min=$s
    [[ -n "$max" && $max -ge $s ]] || max=$s
  done
  from=$min
  if ((${#backups[@]} > 0)); then
    from=$(wal_segno "$(info_get "${backups[0]}/backup.info" start_wal)")
  fi
  [[ -n "$upto" ]] || upto=$max
  if [[ -n "$from" && -n "$upto" ]]; then
    missing=()
    for ((s = from; s <= upto; s++)); do
      [[ -n "${have[$s]:-}" ]] || missing+=("$(printf '%08X%08X' $((s * WAL_SEG_SIZE >> 32)) $(((s * WAL_SEG_SIZE & 0xFFFFFFFF) / WAL_SEG_SIZE)))")
    done
    if ((${#missing[@]} > 0)); then
      problem "WAL archive has a gap: ${#missing[@]} segment(s) missing between $(printf '%X' "$from") and $(printf '%X' "$upto"), first ones (log+seg): ${missing[*]:0:5}"
    fi
  elif ((${#backups[@]} > 0)); then
    warn "the WAL archive is empty: backups restore only to their own end"
  fi
fi

if ((${#problems[@]} > 0)); then
  log "ERROR check failed: ${#problems[@]} problem(s) in ${BACKUP_DIR}"
  exit 1
fi
notes=""
[[ "$wal_only" != true ]] || notes=" (checksums skipped)"
[[ ${#skip_sum[@]} -eq 0 || "$wal_only" == true ]] || notes=" (${!skip_sum[*]}: present, hashed by the caller or unused)"
[[ "$no_wal_sums" != true || "$no_wal" == true || "$wal_only" == true ]] || notes+=" (WAL checksums: checked by wal-restore.sh at replay)"
info "check passed: ${#backups[@]} full backup(s)${notes}, WAL segments $(printf '%X' "${from:-0}")..$(printf '%X' "${upto:-0}")$([[ "$no_wal" == true ]] && echo ' not checked' || echo ' present')"
