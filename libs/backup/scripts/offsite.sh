#!/usr/bin/env bash
# The encrypted off-site copy of the backup volume, on S3-compatible object storage, through
# rclone (a crypt remote over an s3 remote, configured from the environment only: lib-offsite.sh).
#
#   offsite.sh [upload]   CronJob bitpin-offsite-backup: copies every published full backup and
#                         WAL file that is not off-site yet (one listing of the copy, then only
#                         what is missing: a run after an outage catches up with everything the
#                         volume still holds), then the open .partial segment, incremental.log and
#                         the WAL checksum list; applies the off-site retention; exits non-zero
#                         when anything published is still not off-site (the Job fails, and the
#                         "off-site copy behind" alert watches its last success).
#   offsite.sh check [--download]
#                         compares the off-site copy with the volume: every published file present
#                         off-site with the same content (rclone cryptcheck: the local file is
#                         encrypted with the remote's nonce and the hashes compared; --download
#                         decrypts and compares every byte instead).
#   offsite.sh fetch DIR  (restore.sh, RESTORE_SOURCE=offsite) downloads into DIR, laid out like the
#                         volume, only what the restore target needs: the backup.info files, the
#                         chosen full backup (without its dump for a point-in-time restore), the
#                         WAL from that backup's start to the first incremental run after the
#                         target, the history files; then checks every downloaded file's SHA-256
#                         (check.sh) before anything is replayed.
#
# Off-site layout (names and contents encrypted): full/<id>/<files> (backup.info uploaded last:
# a backup without it is incomplete), wal/<segment>.gz, wal/<segment>.gz.partial (a snapshot of
# the open segment), wal/*.history*, wal/SHA256SUMS (the checksums of exactly the WAL files
# off-site, the .partial snapshot's included), incremental.log.
# Retention: the newest BACKUP_OFFSITE_KEEP_FULL complete full backups are kept with the WAL from
# the oldest one's start; history files stay. Settings: lib-offsite.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

subcommand=${1:-upload}
[[ $# -eq 0 ]] || shift
offsite_setup

work=$(mktemp -d "${TMPDIR:-/tmp}/bitpin-offsite.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

WAL_RE='^([0-9A-F]{24}|[0-9A-F]{8}\.history)(\.(gz|lz4|zst))?$'
PARTIAL_RE='^[0-9A-F]{24}(\.(gz|lz4|zst))?\.partial$'

# ---- upload -----------------------------------------------------------------------------------
upload() {
  require_backup_dir
  local t0 id f name n_full=0 n_wal=0 pending=0 bytes=0 partial=""
  t0=$(date +%s)
  if ! offsite_list >"$work/remote"; then
    record unreachable unknown "$t0"
    die "the off-site copy cannot be reached; nothing uploaded: the next run uploads everything published meanwhile (the volume keeps it until its own retention)"
  fi
  declare -A remote=()
  while read -r f; do remote[$f]=1; done <"$work/remote"

  # What is published, read under the run lock (a full backup publishes and retention deletes
  # under it); the files themselves never change once published, so they are read after it.
  take_lock
  : >"$work/full.todo"
  : >"$work/info.todo"
  : >"$work/wal.todo"
  local -a ids=()
  while read -r d; do ids+=("${d##*/}"); done < <(good_backups)
  for id in "${ids[@]}"; do
    for f in "$BACKUP_DIR/full/$id"/*; do
      name=${f##*/}
      [[ -z "${remote[full/$id/$name]:-}" ]] || continue
      if [[ "$name" == backup.info ]]; then echo "$id/$name" >>"$work/info.todo"; else echo "$id/$name" >>"$work/full.todo"; fi
      bytes=$((bytes + $(stat -c %s "$f")))
    done
  done
  # WAL: the files with a checksum (complete segments, history files); the open segment is
  # snapshotted (it still grows) and its snapshot's checksum recorded with it.
  if [[ -f "$BACKUP_DIR/wal/SHA256SUMS" ]]; then cp "$BACKUP_DIR/wal/SHA256SUMS" "$work/wal.sums"; else : >"$work/wal.sums"; fi
  while read -r _ name; do
    [[ "$name" =~ $WAL_RE && -f "$BACKUP_DIR/wal/$name" && -z "${remote[wal/$name]:-}" ]] || continue
    echo "$name" >>"$work/wal.todo"
    bytes=$((bytes + $(stat -c %s "$BACKUP_DIR/wal/$name")))
  done <"$work/wal.sums"
  for f in "$BACKUP_DIR"/wal/*.partial; do
    name=${f##*/}
    [[ "$name" =~ $PARTIAL_RE ]] || continue
    partial=$name
    mkdir -p "$work/partial"
    cp "$f" "$work/partial/$name"
  done
  [[ ! -f "$BACKUP_DIR/incremental.log" ]] || cp "$BACKUP_DIR/incremental.log" "$work/incremental.log"
  exec 9>&- # the lock
  n_full=$(wc -l <"$work/full.todo")
  n_wal=$(wc -l <"$work/wal.todo")
  info "off-site copy ${BACKUP_OFFSITE_ENDPOINT} bucket ${BACKUP_OFFSITE_BUCKET}${BACKUP_OFFSITE_PREFIX:+/${BACKUP_OFFSITE_PREFIX}}: $(wc -l <"$work/remote") file(s) there; to upload: ${n_full} full backup file(s), ${n_wal} WAL file(s), $((bytes / 1048576)) MiB"

  # Immutable files: copied as they are, no per-file look-up at the destination (the listing
  # above said they are missing). A file retention removed meanwhile is skipped by the next run.
  local failed=0
  if ((n_full > 0)); then
    rc copy --no-check-dest --files-from "$work/full.todo" "$BACKUP_DIR/full" "${OFFSITE_REMOTE}full" || failed=1
  fi
  if ((n_wal > 0)); then
    rc copy --no-check-dest --files-from "$work/wal.todo" "$BACKUP_DIR/wal" "${OFFSITE_REMOTE}wal" || failed=1
  fi
  # A full backup is complete off-site once its backup.info is there: uploaded after its files.
  if [[ $failed -eq 0 && -s "$work/info.todo" ]]; then
    rc copy --no-check-dest --files-from "$work/info.todo" "$BACKUP_DIR/full" "${OFFSITE_REMOTE}full" || failed=1
  fi
  if [[ $failed -ne 0 ]]; then
    offsite_list >"$work/remote.after" 2>/dev/null || cp "$work/remote" "$work/remote.after"
    pending=$(missing_count "$work/remote.after")
    record "failed" "$pending" "$t0"
    die "off-site upload failed: ${pending} published file(s) are not off-site yet; the next run uploads them (check the endpoint, the bucket and the credentials)"
  fi
  # The open segment's snapshot, incremental.log, then the checksums of what is off-site now.
  if [[ -n "$partial" ]]; then
    rc copyto "$work/partial/$partial" "${OFFSITE_REMOTE}wal/$partial" || failed=1
    # An older .partial off-site is superseded once its segment is complete there.
    sha256_list "$work/partial" "$partial" >"$work/partial.sum"
  fi
  [[ ! -f "$work/incremental.log" ]] || rc copyto "$work/incremental.log" "${OFFSITE_REMOTE}incremental.log" || failed=1
  ((failed == 0)) || { record failed "$(missing_count "$work/remote")" "$t0"; die "off-site upload of the open WAL segment or incremental.log failed; the next run retries"; }

  retention
  # wal/SHA256SUMS off-site: the local checksums of the WAL files off-site, plus the snapshot's.
  offsite_list >"$work/remote.after" || { record failed unknown "$t0"; die "cannot list the off-site copy after the upload; the next run checks again"; }
  {
    declare -A there=()
    while read -r f; do [[ "$f" != wal/* ]] || there[${f#wal/}]=1; done <"$work/remote.after"
    while read -r s name; do [[ -z "${there[$name]:-}" ]] || printf '%s  %s\n' "$s" "$name"; done <"$work/wal.sums"
    [[ -z "$partial" ]] || cat "$work/partial.sum"
  } >"$work/SHA256SUMS"
  rc copyto "$work/SHA256SUMS" "${OFFSITE_REMOTE}wal/SHA256SUMS" || { record failed 0 "$t0"; die "off-site upload of wal/SHA256SUMS failed; the next run retries"; }
  pending=$(missing_count "$work/remote.after")
  if ((pending > 0)); then
    record behind "$pending" "$t0"
    die "${pending} published file(s) are still not off-site after this run; the next run retries"
  fi
  record ok 0 "$t0"
  info "off-site copy up to date: ${n_full} full backup file(s) and ${n_wal} WAL file(s) uploaded ($((bytes / 1048576)) MiB) in $(($(date +%s) - t0))s"
}

# missing_count REMOTE_LIST: published files (full backups, checksummed WAL) not in the list.
missing_count() {
  local n=0 d f name
  declare -A there=()
  while read -r f; do there[$f]=1; done <"$1"
  while read -r d; do
    for f in "$d"/*; do [[ -n "${there[full/${d##*/}/${f##*/}]:-}" ]] || n=$((n + 1)); done
  done < <(good_backups)
  while read -r _ name; do
    [[ "$name" =~ $WAL_RE && -f "$BACKUP_DIR/wal/$name" && -z "${there[wal/$name]:-}" ]] && n=$((n + 1))
  done <"$work/wal.sums"
  echo "$n"
}

# record STATUS PENDING T0: one line per run in offsite.log on the volume.
record() {
  printf 'time=%s status=%s pending=%s seconds=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2" "$(($(date +%s) - $3))" >>"$BACKUP_DIR/offsite.log"
}

# ---- retention (off-site) ---------------------------------------------------------------------
retention() {
  local -a complete=() doomed=()
  local f id oldest start first_needed name kept
  offsite_list >"$work/remote.ret" || die "off-site retention: cannot list the copy"
  while read -r f; do
    [[ "$f" =~ ^full/([^/]+)/backup\.info$ ]] && complete+=("${BASH_REMATCH[1]}")
  done <"$work/remote.ret"
  ((${#complete[@]} > 0)) || return 0
  # Ids are UTC times: sorted by name is sorted by age.
  mapfile -t complete < <(printf '%s\n' "${complete[@]}" | sort)
  kept=$((${#complete[@]} < BACKUP_OFFSITE_KEEP_FULL ? ${#complete[@]} : BACKUP_OFFSITE_KEEP_FULL))
  oldest=${complete[${#complete[@]} - kept]}
  declare -A keep=()
  for id in "${complete[@]:${#complete[@]}-kept}"; do keep[$id]=1; done
  declare -A localid=()
  while read -r d; do localid[${d##*/}]=1; done < <(good_backups)
  declare -A seen=()
  while read -r f; do
    [[ "$f" =~ ^full/([^/]+)/ ]] || continue
    id=${BASH_REMATCH[1]}
    [[ -z "${seen[$id]:-}" ]] || continue
    seen[$id]=1
    # Older than the kept ones, or an incomplete upload whose backup the volume no longer has.
    if [[ -z "${keep[$id]:-}" && ("$id" < "$oldest" || -z "${localid[$id]:-}") ]]; then
      rc purge "${OFFSITE_REMOTE}full/$id" || die "off-site retention: cannot delete full/${id}"
      info "off-site retention: deleted full/${id}"
    fi
  done <"$work/remote.ret"
  # The WAL the oldest kept backup needs starts at its start_wal.
  if [[ -f "$BACKUP_DIR/full/$oldest/backup.info" ]]; then
    start=$(info_get "$BACKUP_DIR/full/$oldest/backup.info" start_wal)
  else
    start=$(rclone cat "${OFFSITE_REMOTE}full/$oldest/backup.info" | sed -n 's/^start_wal=//p' | tail -n 1)
  fi
  [[ "$start" =~ ^[0-9A-F]{24}$ ]] || die "off-site retention: full/${oldest}/backup.info has no valid start_wal"
  first_needed=$(wal_segno "$start")
  while read -r f; do
    [[ "$f" == wal/* ]] || continue
    name=${f#wal/}
    [[ "$name" =~ ^[0-9A-F]{24}(\.(gz|lz4|zst))?(\.partial)?$ ]] || continue
    if (((16#${name:8:8} * 4294967296 / WAL_SEG_SIZE) + 16#${name:16:8} < first_needed)); then doomed+=("$name"); fi
  done <"$work/remote.ret"
  # A .partial snapshot off-site whose segment is complete off-site (or locally) is superseded.
  declare -A listed=()
  while read -r f; do listed[$f]=1; done <"$work/remote.ret"
  while read -r f; do
    [[ "$f" =~ ^wal/([0-9A-F]{24})((\.(gz|lz4|zst))?)\.partial$ ]] || continue
    if [[ -n "${listed[wal/${BASH_REMATCH[1]}${BASH_REMATCH[2]}]:-}" || -f "$BACKUP_DIR/wal/${BASH_REMATCH[1]}${BASH_REMATCH[2]}" ]]; then
      doomed+=("${f#wal/}")
    fi
  done <"$work/remote.ret"
  if ((${#doomed[@]} > 0)); then
    printf '%s\n' "${doomed[@]}" | sort -u >"$work/doomed"
    rc delete --files-from "$work/doomed" "${OFFSITE_REMOTE}wal" || die "off-site retention: deleting old WAL failed"
  fi
  info "off-site retention: ${kept} full backup(s) kept (oldest ${oldest}, keep ${BACKUP_OFFSITE_KEEP_FULL}), $(sort -u "$work/doomed" 2>/dev/null | wc -l) WAL file(s) before ${start} or superseded deleted"
}

# ---- check ------------------------------------------------------------------------------------
check() {
  require_backup_dir ro
  local how=cryptcheck
  [[ "${1:-}" != --download ]] || how=download
  local -a full_ids=()
  while read -r d; do full_ids+=(--include "/${d##*/}/**"); done < <(good_backups)
  local bad=0
  if ((${#full_ids[@]} > 0)); then
    if [[ "$how" == download ]]; then
      rc check --one-way --download "${full_ids[@]}" "$BACKUP_DIR/full" "${OFFSITE_REMOTE}full" || bad=1
    else
      rc cryptcheck --one-way "${full_ids[@]}" "$BACKUP_DIR/full" "${OFFSITE_REMOTE}full" || bad=1
    fi
  fi
  # WAL: the checksummed files only (the open .partial segment changes; SHA256SUMS differs by design).
  local wal_list="$work/wal.check"
  : >"$wal_list"
  [[ ! -f "$BACKUP_DIR/wal/SHA256SUMS" ]] || awk -v re="$WAL_RE" '$2 ~ re { print $2 }' "$BACKUP_DIR/wal/SHA256SUMS" >"$wal_list"
  if [[ -s "$wal_list" ]]; then
    if [[ "$how" == download ]]; then
      rc check --one-way --download --files-from "$wal_list" "$BACKUP_DIR/wal" "${OFFSITE_REMOTE}wal" || bad=1
    else
      rc cryptcheck --one-way --files-from "$wal_list" "$BACKUP_DIR/wal" "${OFFSITE_REMOTE}wal" || bad=1
    fi
  fi
  [[ $bad -eq 0 ]] || die "the off-site copy differs from the volume (files missing or with other contents, listed above); run offsite.sh upload, and for files with other contents delete them off-site first"
  info "off-site check passed (${how}): every published full backup file and WAL file of ${BACKUP_DIR} is off-site with the same contents"
}

# ---- fetch (restore from the off-site copy alone) ---------------------------------------------
fetch() {
  local dest=${1:-}
  [[ -n "$dest" ]] || die "usage: offsite.sh fetch DIR"
  [[ ! -e "$dest" || -z "$(ls -A "$dest")" ]] || die "fetch directory ${dest} is not empty"
  mkdir -p "$dest/full" "$dest/wal"
  local t0 f id name
  t0=$(date +%s)
  offsite_list >"$work/remote" || die "cannot restore from the off-site copy: it cannot be listed (endpoint, bucket, credentials?)"
  [[ -s "$work/remote" ]] || die "the off-site copy at ${BACKUP_OFFSITE_ENDPOINT} bucket ${BACKUP_OFFSITE_BUCKET}${BACKUP_OFFSITE_PREFIX:+/${BACKUP_OFFSITE_PREFIX}} is empty (or the key is wrong: names that do not decrypt are not listed)"
  grep -E '^full/[^/]+/backup\.info$|^incremental\.log$|^wal/SHA256SUMS$|^wal/[0-9A-F]{8}\.history' "$work/remote" >"$work/small" || true
  rc copy --no-check-dest --files-from "$work/small" "$OFFSITE_REMOTE" "$dest" || die "cannot download the off-site catalogue (backup.info files, incremental.log, wal/SHA256SUMS)"
  # The catalogue chooses the backup exactly as a local restore does.
  local saved_dir=$BACKUP_DIR
  BACKUP_DIR=$dest
  parse_target
  select_backup
  check_target_archived "$dest/incremental.log"
  BACKUP_DIR=$saved_dir
  id=${backup##*/}
  local info_file="$dest/full/$id/backup.info"
  # The backup's files (the dump only for a logical restore).
  : >"$work/want"
  while read -r f; do
    [[ "$f" == "full/$id/"* && "$f" != */backup.info ]] || continue
    if [[ "${RESTORE_MODE:-pitr}" == pitr && "${f##*/}" == "$(info_get "$info_file" dump)" ]]; then continue; fi
    echo "$f" >>"$work/want"
  done <"$work/remote"
  # WAL from the backup's start to the segment of the first incremental run after the target (one
  # more segment: that run's closing record may start the next one); to the end otherwise.
  local from upto="" lsn
  from=$(wal_segno "$(info_get "$info_file" start_wal)")
  if [[ "${RESTORE_MODE:-pitr}" == pitr && -s "$dest/incremental.log" ]]; then
    case "$target_kind" in
      time)
        while read -r line; do
          local t
          t=$(sed -n 's/.* time=\([^ ]*\).*/\1/p' <<<"$line")
          lsn=$(sed -n 's/.* lsn=\([0-9A-F]*\/[0-9A-F]*\).*/\1/p' <<<"$line")
          [[ -n "$t" && -n "$lsn" ]] || continue
          if (($(to_us "$t") > target_us)); then
            upto=$(($(lsn_to_dec "$lsn") / WAL_SEG_SIZE + 1))
            break
          fi
        done <"$dest/incremental.log"
        ;;
      lsn) upto=$(($(lsn_to_dec "$target_value") / WAL_SEG_SIZE + 1)) ;;
      immediate) upto=$(($(lsn_to_dec "$(info_get "$info_file" end_lsn)") / WAL_SEG_SIZE + 1)) ;;
    esac
  fi
  local n_wal=0 s
  if [[ "${RESTORE_MODE:-pitr}" == pitr ]]; then
    while read -r f; do
      [[ "$f" == wal/* ]] || continue
      name=${f#wal/}
      [[ "$name" =~ ^[0-9A-F]{24}(\.(gz|lz4|zst))?(\.partial)?$ ]] || continue
      s=$(((16#${name:8:8} * 4294967296 / WAL_SEG_SIZE) + 16#${name:16:8}))
      if ((s < from)) || [[ -n "$upto" && $s -gt $upto ]]; then continue; fi
      echo "$f" >>"$work/want"
      n_wal=$((n_wal + 1))
    done <"$work/remote"
  fi
  rc copy --no-check-dest --files-from "$work/want" "$OFFSITE_REMOTE" "$dest" ||
    die "downloading full backup ${id} and its WAL from the off-site copy failed (a changed byte in an encrypted object fails its authentication: see rclone's message above)"
  # Only the chosen backup stays in the catalogue; the WAL checksum list covers what was fetched.
  for f in "$dest"/full/*/; do [[ "${f%/}" == "$dest/full/$id" ]] || rm -rf -- "${f%/}"; done
  if [[ -f "$dest/wal/SHA256SUMS" ]]; then
    while read -r s name; do [[ ! -f "$dest/wal/$name" ]] || printf '%s  %s\n' "$s" "$name"; done <"$dest/wal/SHA256SUMS" >"$dest/wal/SHA256SUMS.new"
    mv "$dest/wal/SHA256SUMS.new" "$dest/wal/SHA256SUMS"
  fi
  # Every downloaded byte checked before anything is replayed: the backup's files (the dump when
  # fetched) and every WAL segment against their SHA-256, and the WAL without a gap.
  local -a chk=(--backup "$id")
  [[ "${RESTORE_MODE:-pitr}" != pitr ]] || chk+=(--skip-sum "$(info_get "$info_file" dump)")
  [[ "${RESTORE_MODE:-pitr}" == pitr ]] || chk+=(--no-wal)
  [[ -z "$upto" ]] || chk+=(--upto-segno "$(wal_last_present "$dest/wal" "$upto")")
  BACKUP_DIR=$dest bash "$BITPIN_SCRIPTS_DIR/check.sh" "${chk[@]}" ||
    die "the files fetched from the off-site copy do not match their checksums (listed above); nothing restored"
  info "fetched full backup ${id} and ${n_wal} WAL file(s) ($(du -sh "$dest" | cut -f1)) from the off-site copy into ${dest} in $(($(date +%s) - t0))s; checksums verified"
}

# wal_last_present DIR UPTO: the highest segment number <= UPTO present in DIR (the run after the
# target may close a segment that does not exist yet).
wal_last_present() {
  local max=0 f name s
  for f in "$1"/*; do
    name=${f##*/}
    [[ "$name" =~ ^[0-9A-F]{24} ]] || continue
    s=$(((16#${name:8:8} * 4294967296 / WAL_SEG_SIZE) + 16#${name:16:8}))
    ((s <= $2 && s > max)) && max=$s
  done
  echo "$max"
}

case "$subcommand" in
  upload) upload ;;
  check) check "$@" ;;
  fetch) fetch "$@" ;;
  *) die "unknown command \"${subcommand}\" (use upload, check [--download] or fetch DIR)" ;;
esac
