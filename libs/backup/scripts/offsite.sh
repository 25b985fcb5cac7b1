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

# ---- what the copy keeps ------------------------------------------------------------------------
# plan_keep REMOTE_LIST: KEEP[id]=1 for the newest BACKUP_OFFSITE_KEEP_FULL full backups among the
# volume's good ones and the complete ones off-site, OLDEST_KEPT, and FIRST_NEEDED: the segment
# number of its start (WAL before it is neither uploaded nor kept). Only these are uploaded, so a
# volume that keeps more backups than the copy does not upload what retention would delete again.
declare -A KEEP=()
OLDEST_KEPT="" FIRST_NEEDED=0
plan_keep() {
  local f start
  local -a all=()
  KEEP=() OLDEST_KEPT="" FIRST_NEEDED=0
  while read -r f; do all+=("${f##*/}"); done < <(good_backups)
  while read -r f; do [[ "$f" =~ ^full/([^/]+)/backup\.info$ ]] && all+=("${BASH_REMATCH[1]}"); done <"$1"
  ((${#all[@]} > 0)) || return 0
  # Ids are UTC times: sorted by name is sorted by age.
  mapfile -t all < <(printf '%s\n' "${all[@]}" | sort -u | tail -n "$BACKUP_OFFSITE_KEEP_FULL")
  for f in "${all[@]}"; do KEEP[$f]=1; done
  OLDEST_KEPT=${all[0]}
  if [[ -f "$BACKUP_DIR/full/$OLDEST_KEPT/backup.info" ]]; then
    start=$(info_get "$BACKUP_DIR/full/$OLDEST_KEPT/backup.info" start_wal)
  else
    start=$(rclone cat "${OFFSITE_REMOTE}full/$OLDEST_KEPT/backup.info" | sed -n 's/^start_wal=//p' | tail -n 1)
  fi
  [[ "$start" =~ ^[0-9A-F]{24}$ ]] || die "full backup ${OLDEST_KEPT} has no valid start_wal (backup.info)"
  FIRST_NEEDED=$(wal_segno "$start")
}

# wanted_wal NAME: a WAL file the copy keeps (history files always; segments from FIRST_NEEDED on).
wanted_wal() {
  [[ "$1" =~ ^[0-9A-F]{24} ]] || return 0
  (((16#${1:8:8} * 4294967296 / WAL_SEG_SIZE) + 16#${1:16:8} >= FIRST_NEEDED))
}

# ---- upload -----------------------------------------------------------------------------------
# Few rclone processes, one listing: (1) the listing, (2) every missing full backup file and WAL
# file in one copy, (3) once all of them are there, the catalogue in one copy: the new backups'
# backup.info files (a backup is complete off-site once its backup.info is there),
# incremental.log, the open segment's snapshot and wal/SHA256SUMS, (4) retention's deletions, when
# there are any, once the catalogue no longer names what they delete. What the copy holds after
# (2)-(4) is known without listing it again.
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
  plan_keep "$work/remote"
  : >"$work/data.todo"
  : >"$work/info.todo"
  mkdir -p "$work/stage/wal"
  local -a ids=()
  while read -r d; do ids+=("${d##*/}"); done < <(good_backups)
  for id in "${ids[@]}"; do
    [[ -n "${KEEP[$id]:-}" ]] || continue
    for f in "$BACKUP_DIR/full/$id"/*; do
      name=${f##*/}
      [[ -z "${remote[full/$id/$name]:-}" ]] || continue
      if [[ "$name" == backup.info ]]; then
        echo "full/$id/$name" >>"$work/info.todo"
        mkdir -p "$work/stage/full/$id"
        cp "$f" "$work/stage/full/$id/$name"
      else
        echo "full/$id/$name" >>"$work/data.todo"
        n_full=$((n_full + 1))
      fi
      bytes=$((bytes + $(stat -c %s "$f")))
    done
  done
  # WAL: the files with a checksum (complete segments, history files); the open segment is
  # snapshotted (it still grows) and its snapshot's checksum recorded with it.
  if [[ -f "$BACKUP_DIR/wal/SHA256SUMS" ]]; then cp "$BACKUP_DIR/wal/SHA256SUMS" "$work/wal.sums"; else : >"$work/wal.sums"; fi
  while read -r _ name; do
    [[ "$name" =~ $WAL_RE && -f "$BACKUP_DIR/wal/$name" && -z "${remote[wal/$name]:-}" ]] || continue
    wanted_wal "$name" || continue
    echo "wal/$name" >>"$work/data.todo"
    n_wal=$((n_wal + 1))
    bytes=$((bytes + $(stat -c %s "$BACKUP_DIR/wal/$name")))
  done <"$work/wal.sums"
  for f in "$BACKUP_DIR"/wal/*.partial; do
    name=${f##*/}
    [[ "$name" =~ $PARTIAL_RE ]] || continue
    partial=$name
    cp "$f" "$work/stage/wal/$name"
  done
  [[ ! -f "$BACKUP_DIR/incremental.log" ]] || cp "$BACKUP_DIR/incremental.log" "$work/stage/incremental.log"
  exec 9>&- # the lock
  info "off-site copy ${BACKUP_OFFSITE_ENDPOINT} bucket ${BACKUP_OFFSITE_BUCKET}${BACKUP_OFFSITE_PREFIX:+/${BACKUP_OFFSITE_PREFIX}}: $(wc -l <"$work/remote") file(s) there; to upload: ${n_full} full backup file(s), ${n_wal} WAL file(s), $((bytes / 1048576)) MiB"

  # Immutable files: copied as they are, no per-file look-up at the destination (the listing
  # above said they are missing). A file retention removed meanwhile is skipped by the next run.
  local failed=0
  if [[ -s "$work/data.todo" ]]; then
    rc copy --no-check-dest --files-from "$work/data.todo" "$BACKUP_DIR" "$OFFSITE_REMOTE" || failed=1
  fi
  if [[ $failed -ne 0 ]]; then
    offsite_list >"$work/now" 2>/dev/null || cp "$work/remote" "$work/now"
    pending=$(missing_count "$work/now")
    record "failed" "$pending" "$t0"
    die "off-site upload failed: ${pending} published file(s) are not off-site yet; the next run uploads them (check the endpoint, the bucket and the credentials)"
  fi
  sort -u "$work/remote" "$work/data.todo" >"$work/now.data"
  sort -u "$work/now.data" "$work/info.todo" >"$work/now"

  retention_plan "$work/now"
  # wal/SHA256SUMS off-site: the local checksums of the WAL files off-site, plus the snapshot's.
  # (A local line for a .partial segment describes the file as it was then; the snapshot's own
  # checksum describes what is uploaded.)
  {
    declare -A there=()
    while read -r f; do [[ "$f" != wal/* ]] || there[${f#wal/}]=1; done <"$work/now"
    while read -r s name; do [[ -z "${there[$name]:-}" || "$name" =~ $PARTIAL_RE ]] || printf '%s  %s\n' "$s" "$name"; done <"$work/wal.sums"
    [[ -z "$partial" ]] || sha256_list "$work/stage/wal" "$partial"
  } >"$work/SHA256SUMS"
  mv "$work/SHA256SUMS" "$work/stage/wal/SHA256SUMS"
  rc copy --no-check-dest "$work/stage" "$OFFSITE_REMOTE" ||
    { record failed "$(missing_count "$work/now.data")" "$t0"; die "off-site upload of the backup.info files, incremental.log, the open WAL segment or wal/SHA256SUMS failed; the next run retries"; }
  retention_apply
  pending=$(missing_count "$work/now")
  if ((pending > 0)); then
    record behind "$pending" "$t0"
    die "${pending} published file(s) are still not off-site after this run; the next run retries"
  fi
  record ok 0 "$t0"
  info "off-site copy up to date: ${n_full} full backup file(s) and ${n_wal} WAL file(s) uploaded ($((bytes / 1048576)) MiB) in $(($(date +%s) - t0))s"
}

# missing_count LIST: published files the copy keeps (full backups, checksummed WAL) not in LIST.
missing_count() {
  local n=0 d f name
  declare -A there=()
  while read -r f; do there[$f]=1; done <"$1"
  while read -r d; do
    [[ -n "${KEEP[${d##*/}]:-}" ]] || continue
    for f in "$d"/*; do [[ -n "${there[full/${d##*/}/${f##*/}]:-}" ]] || n=$((n + 1)); done
  done < <(good_backups)
  while read -r _ name; do
    [[ "$name" =~ $WAL_RE && -f "$BACKUP_DIR/wal/$name" && -z "${there[wal/$name]:-}" ]] && wanted_wal "$name" && n=$((n + 1))
  done <"$work/wal.sums"
  echo "$n"
}

# record STATUS PENDING T0: one line per run in offsite.log on the volume.
record() {
  printf 'time=%s status=%s pending=%s seconds=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2" "$(($(date +%s) - $3))" >>"$BACKUP_DIR/offsite.log"
}

# ---- retention (off-site) ---------------------------------------------------------------------
# retention_plan LIST: what the copy does not keep (LIST: what it holds; updated in place to what
# it keeps): PURGE_IDS (full backups) and DOOMED (WAL files), deleted by retention_apply once the
# new catalogue is off-site.
PURGE_IDS=() DOOMED=() RETENTION_NOTE=""
retention_plan() {
  local list=$1 f id name
  local -a doomed=() purged=()
  PURGE_IDS=() DOOMED=() RETENTION_NOTE=""
  plan_keep "$list"
  [[ -n "$OLDEST_KEPT" ]] || return 0
  declare -A seen=() listed=()
  while read -r f; do listed[$f]=1; done <"$list"
  while read -r f; do
    [[ "$f" =~ ^full/([^/]+)/ ]] || continue
    id=${BASH_REMATCH[1]}
    [[ -z "${seen[$id]:-}" ]] || continue
    seen[$id]=1
    # Not among the kept ones: older, or an incomplete upload of a backup the copy does not keep.
    [[ -n "${KEEP[$id]:-}" ]] || purged+=("$id")
  done <"$list"
  while read -r f; do
    [[ "$f" == wal/* ]] || continue
    name=${f#wal/}
    [[ "$name" =~ ^[0-9A-F]{24}(\.(gz|lz4|zst))?(\.partial)?$ ]] || continue
    if ! wanted_wal "$name"; then
      doomed+=("$name")
    elif [[ "$name" =~ ^([0-9A-F]{24}(\.(gz|lz4|zst))?)\.partial$ ]] &&
      [[ -n "${listed[wal/${BASH_REMATCH[1]}]:-}" || -f "$BACKUP_DIR/wal/${BASH_REMATCH[1]}" ]]; then
      # A .partial snapshot whose segment is complete off-site (or on the volume) is superseded.
      doomed+=("$name")
    fi
  done <"$list"
  # The list without what is to be deleted.
  declare -A gone=()
  for name in "${doomed[@]}"; do gone[wal/$name]=1; done
  while read -r f; do
    [[ -z "${gone[$f]:-}" ]] || continue
    if [[ "$f" =~ ^full/([^/]+)/ ]] && [[ " ${purged[*]} " == *" ${BASH_REMATCH[1]} "* ]]; then continue; fi
    echo "$f"
  done <"$list" >"$list.new"
  mv "$list.new" "$list"
  PURGE_IDS=("${purged[@]}") DOOMED=("${doomed[@]}")
  RETENTION_NOTE="${#KEEP[@]} full backup(s) kept (oldest ${OLDEST_KEPT}, keep ${BACKUP_OFFSITE_KEEP_FULL}), ${#doomed[@]} WAL file(s) before its start or superseded deleted"
}

# retention_apply: deletes what retention_plan chose.
retention_apply() {
  local id
  [[ -n "$RETENTION_NOTE" ]] || return 0
  for id in "${PURGE_IDS[@]}"; do
    rc purge "${OFFSITE_REMOTE}full/$id" || die "off-site retention: cannot delete full/${id}"
    info "off-site retention: deleted full/${id}"
  done
  if ((${#DOOMED[@]} > 0)); then
    printf '%s\n' "${DOOMED[@]}" | sort -u >"$work/doomed"
    rc delete --files-from "$work/doomed" "${OFFSITE_REMOTE}wal" || die "off-site retention: deleting old WAL failed"
  fi
  info "off-site retention: ${RETENTION_NOTE}"
}

# ---- check ------------------------------------------------------------------------------------
# compare WHAT SRC DST [rclone options...]: one comparison, its output shown; sets bad/unverified.
compare() {
  local what=$1 src=$2 dst=$3 out
  shift 3
  if [[ "$how" == download ]]; then
    out=$(rclone check --one-way --download --transfers "$BACKUP_OFFSITE_TRANSFERS" "$@" "$src" "$dst" 2>&1) || bad=1
  else
    out=$(rclone cryptcheck --one-way --checkers "$((BACKUP_OFFSITE_TRANSFERS * 2))" "$@" "$src" "$dst" 2>&1) || bad=1
  fi
  local line
  [[ -z "$out" ]] || while IFS= read -r line; do printf '  rclone (%s): %s\n' "$what" "$line" >&2; done <<<"$out"
  # An object the store keeps no MD5 for (some multipart uploads) cannot be compared by hash: that
  # is not a pass.
  if [[ "$out" == *"could not be checked"* ]]; then unverified=1; fi
}

check() {
  require_backup_dir ro
  how=cryptcheck bad=0 unverified=0
  [[ "${1:-}" != --download ]] || how=download
  local -a full_ids=()
  offsite_list >"$work/remote" || die "cannot check the off-site copy: it cannot be listed"
  plan_keep "$work/remote"
  # The full backups the copy keeps, every file; the checksummed WAL files it keeps (the open
  # .partial segment changes; wal/SHA256SUMS differs by design).
  while read -r d; do [[ -z "${KEEP[${d##*/}]:-}" ]] || full_ids+=(--include "/${d##*/}/**"); done < <(good_backups)
  ((${#full_ids[@]} == 0)) || compare full "$BACKUP_DIR/full" "${OFFSITE_REMOTE}full" "${full_ids[@]}"
  local wal_list="$work/wal.check" name
  : >"$wal_list"
  if [[ -f "$BACKUP_DIR/wal/SHA256SUMS" ]]; then
    while read -r _ name; do
      [[ "$name" =~ $WAL_RE && -f "$BACKUP_DIR/wal/$name" ]] && wanted_wal "$name" && echo "$name" >>"$wal_list"
    done <"$BACKUP_DIR/wal/SHA256SUMS"
  fi
  [[ ! -s "$wal_list" ]] || compare wal "$BACKUP_DIR/wal" "${OFFSITE_REMOTE}wal" --files-from "$wal_list"
  [[ $bad -eq 0 ]] || die "the off-site copy differs from the volume (files missing or with other contents, listed above); run offsite.sh upload, and for files with other contents delete them off-site first"
  [[ $unverified -eq 0 ]] || die "some off-site objects have no MD5 the store could give (listed above): their contents were not compared; run offsite.sh check --download"
  info "off-site check passed (${how}): every full backup and WAL file the copy keeps from ${BACKUP_DIR} is off-site with the same contents"
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
  # Only the chosen backup stays in the catalogue; the checksum lists cover what was fetched (a
  # point-in-time restore does not fetch the dump).
  for f in "$dest"/full/*/; do [[ "${f%/}" == "$dest/full/$id" ]] || rm -rf -- "${f%/}"; done
  while read -r s name; do [[ ! -f "$dest/full/$id/$name" ]] || printf '%s  %s\n' "$s" "$name"; done <"$dest/full/$id/SHA256SUMS" >"$work/sums"
  cat "$work/sums" >"$dest/full/$id/SHA256SUMS"
  if [[ -f "$dest/wal/SHA256SUMS" ]]; then
    while read -r s name; do [[ ! -f "$dest/wal/$name" ]] || printf '%s  %s\n' "$s" "$name"; done <"$dest/wal/SHA256SUMS" >"$dest/wal/SHA256SUMS.new"
    mv "$dest/wal/SHA256SUMS.new" "$dest/wal/SHA256SUMS"
  fi
  # Every downloaded byte checked before anything is replayed: the backup's files (the dump when
  # fetched) and every WAL segment against their SHA-256, and the WAL without a gap.
  local -a chk=(--backup "$id")
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
