#!/usr/bin/env bash
# Integrity check of the backup volume; exits non-zero and lists every problem it finds:
#   - each good full backup: every file of its SHA256SUMS is present and matches;
#   - the WAL archive: every checksummed segment is present and matches;
#   - continuity: no segment is missing from the start of the oldest good full backup (or the
#     first archived segment) up to the newest one.
# Options: --wal-only (skip checksums, continuity only), --upto-segno N (continuity up to N),
#          --backup ID (that one full backup and the WAL from its start), --no-wal (no WAL checks).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_backup_dir ro

wal_only=false upto="" only="" no_wal=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --wal-only) wal_only=true ;;
    --upto-segno) upto=$2 && shift ;;
    --backup) only=$2 && shift ;;
    --no-wal) no_wal=true ;;
    *) die "unknown option $1 (use --wal-only, --upto-segno N, --backup ID, --no-wal)" ;;
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

if [[ "$wal_only" != true ]]; then
  for b in "${backups[@]}"; do
    id=${b##*/}
    if [[ ! -s "$b/SHA256SUMS" ]]; then
      problem "full backup ${id}: SHA256SUMS is missing"
      continue
    fi
    while read -r sum name; do
      if [[ ! -f "$b/$name" ]]; then
        problem "full backup ${id}: ${name} is missing"
      elif [[ "$(sha256sum <"$b/$name" | cut -d' ' -f1)" != "$sum" ]]; then
        problem "full backup ${id}: ${name} is corrupted (SHA-256 mismatch)"
      fi
    done <"$b/SHA256SUMS"
  done
  if [[ "$no_wal" != true && -f "$BACKUP_DIR/wal/SHA256SUMS" ]]; then
    while read -r sum name; do
      f="$BACKUP_DIR/wal/$name"
      if [[ ! -f "$f" ]]; then
        problem "WAL ${name} is missing"
      elif [[ "$(sha256sum <"$f" | cut -d' ' -f1)" != "$sum" ]]; then
        problem "WAL ${name} is corrupted (SHA-256 mismatch)"
      fi
    done <"$BACKUP_DIR/wal/SHA256SUMS"
  fi
fi

declare -A have=()
min="" max=""
if [[ "$no_wal" != true ]]; then
  for f in "$BACKUP_DIR"/wal/*; do
    name=${f##*/}
    [[ "$name" =~ ^[0-9A-F]{24}(\.(gz|lz4|zst))?(\.partial)?$ ]] || continue
    s=$(wal_segno "$name")
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
info "check passed: ${#backups[@]} full backup(s)$([[ "$wal_only" == true ]] && echo ' (checksums skipped)' || true), WAL segments $(printf '%X' "${from:-0}")..$(printf '%X' "${upto:-0}")$([[ "$no_wal" == true ]] && echo ' not checked' || echo ' present')"
