# shellcheck shell=bash
# Part of lib.sh, sourced by it (never on its own).

# ---- the WAL archive: the receiver, .partial checksums, the backup slot ----------------------
# The WAL receiver (wal-receiver.sh, Deployment bitpin-wal-receiver) streams into wal/ from its
# own slot; whoever runs pg_receivewal into wal/ holds an flock on wal/.receiver.lock (the
# receiver while it streams, an incremental run in its fallback), so two never write at once.
BACKUP_RECEIVER_SLOT=${BACKUP_RECEIVER_SLOT:-bitpin_wal_receiver}
# application_name of the receiver's replication connection: the name synchronous_standby_names lists.
BACKUP_RECEIVER_NAME=${BACKUP_RECEIVER_NAME:-bitpin_wal_receiver}
# Seconds an incremental run waits for the running receiver to reach the run's end position.
BACKUP_RECEIVER_WAIT=${BACKUP_RECEIVER_WAIT:-120}

receiver_lock_file() { echo "$BACKUP_DIR/wal/.receiver.lock"; }

# advance_slot SLOT LSN: moves the physical slot's restart_lsn up to LSN (never back), so the
# primary keeps no WAL the archive already has. The slot must not be in use.
advance_slot() {
  q "SELECT pg_replication_slot_advance(slot_name, '$2'::pg_lsn) FROM pg_replication_slots
      WHERE slot_name = '$1' AND NOT active AND coalesce(restart_lsn, '0/0'::pg_lsn) < '$2'::pg_lsn" >/dev/null
}

# write_partial_sums WAL_DIR STABLE: rewrites WAL_DIR/SHA256SUMS.partial with one line
# "<sha256> <bytes> <name>" per open (.partial) segment: the SHA-256 of the first <bytes> bytes of
# its WAL (unpacked), the bytes that no longer change. STABLE is "all" (nobody writes to the
# archive: an incremental run's fallback) or the LSN the running receiver has confirmed (WAL
# before it is final; a receiver that restarts rewrites a compressed .partial from the segment's
# start, so compressed bytes may differ while the WAL in them does not).
write_partial_sums() {
  local dir=$1 stable=$2 f name bytes sum tmp out src
  out="$dir/.SHA256SUMS.partial.tmp"
  tmp=$(mktemp "${TMPDIR:-/tmp}/bitpin-partial.XXXXXX")
  : >"$out"
  for f in "$dir"/*.partial; do
    name=${f##*/}
    [[ "$name" =~ ^[0-9A-F]{24}(\.(gz|lz4|zst))?\.partial$ ]] || continue
    # A plain one is read in place (its first bytes no longer change), a compressed one unpacked.
    src=$f
    if [[ -n "${BASH_REMATCH[1]}" ]]; then
      unpack_partial "$f" >"$tmp"
      src=$tmp
    fi
    bytes=$(stat -c %s "$src")
    if [[ "$stable" != all ]]; then
      # Only the segment the confirmed position lies in has a known final part.
      [[ "$(wal_segno "$name")" == "$(($(lsn_to_dec "$stable") / WAL_SEG_SIZE))" ]] || continue
      ((bytes <= $(lsn_to_dec "$stable") % WAL_SEG_SIZE)) || bytes=$(($(lsn_to_dec "$stable") % WAL_SEG_SIZE))
    fi
    ((bytes > 0)) || continue
    sum=$(head -c "$bytes" "$src" | sha256sum | cut -c1-64)
    printf '%s %s %s\n' "$sum" "$bytes" "$name" >>"$out"
  done
  rm -f "$tmp"
  mv -f "$out" "$dir/SHA256SUMS.partial"
}

# unpack_partial FILE: the WAL an open segment holds so far (a compressed one that is still being
# written, or whose writer was killed, lacks its end: what precedes the damage is printed).
unpack_partial() { unpack "$1" 2>/dev/null || true; }

# partial_sum_ok DIR NAME [UNPACKED]: the .partial NAME's WAL (UNPACKED: already unpacked to that
# file) still starts with the bytes SHA256SUMS.partial recorded (true when none are recorded).
partial_sum_ok() {
  local dir=$1 name=$2 want bytes got tmp=""
  [[ -f "$dir/SHA256SUMS.partial" ]] || return 0
  read -r want bytes < <(awk -v n="$name" '$3 == n { w = $1; b = $2 } END { print w, b }' "$dir/SHA256SUMS.partial")
  [[ -n "${want:-}" ]] || return 0
  local src=${3:-}
  if [[ -z "$src" ]]; then
    tmp=$(mktemp "${TMPDIR:-/tmp}/bitpin-partial.XXXXXX")
    unpack_partial "$dir/$name" >"$tmp"
    src=$tmp
  fi
  got=""
  (($(stat -c %s "$src") < bytes)) || got=$(head -c "$bytes" "$src" | sha256sum | cut -c1-64)
  [[ -z "$tmp" ]] || rm -f "$tmp"
  [[ "$got" == "$want" ]]
}

# newest_archive_log: the file whose (last) line records the newest server time up to which WAL
# is archived: incremental.log (every run), or wal/receiver.status (the receiver, while caught up).
newest_archive_log() {
  local log="$BACKUP_DIR/incremental.log" st="$BACKUP_DIR/wal/receiver.status" a="" b=""
  [[ ! -s "$log" ]] || a=$(tail -n 1 "$log" | sed -n 's/.* epoch=\([0-9.]*\).*/\1/p')
  [[ ! -s "$st" ]] || b=$(sed -n 's/.*epoch=\([0-9.]*\).*/\1/p' "$st")
  if [[ -n "$b" ]] && awk -v a="${a:-0}" -v b="$b" 'BEGIN { exit !(b > a) }'; then echo "$st"; else echo "$log"; fi
}

# archived_segnos: the segment numbers of the archive's WAL files (complete or .partial), sorted.
archived_segnos() {
  local f name
  for f in "$BACKUP_DIR"/wal/*; do
    name=${f##*/}
    [[ "$name" =~ ^[0-9A-F]{24}(\.(gz|lz4|zst))?(\.partial)?$ ]] || continue
    echo $(((16#${name:8:8} * 4294967296 / WAL_SEG_SIZE) + 16#${name:16:8}))
  done | sort -n -u
}

# first_wal_gap FROM_SEGNO: the first segment number missing from the archive between FROM_SEGNO
# and its newest segment (nothing when there is no gap).
first_wal_gap() {
  local s want=$1
  while read -r s; do
    ((s >= want)) || continue
    ((s == want)) || {
      echo "$want"
      return 0
    }
    want=$((s + 1))
  done < <(archived_segnos)
}

# seg_file SEGNO: the archived file of that segment (the newest timeline's), or nothing.
seg_file() {
  local pat
  pat=$(printf '%08X%08X' $(($1 * WAL_SEG_SIZE >> 32)) $((($1 * WAL_SEG_SIZE & 0xFFFFFFFF) / WAL_SEG_SIZE)))
  find "$BACKUP_DIR/wal" -maxdepth 1 -name "????????${pat}*" -printf '%f\n' | grep -E '^[0-9A-F]{24}(\.(gz|lz4|zst))?(\.partial)?$' | sort | tail -n 1
}

# last_commit_before SEGNO: "<microseconds> <ISO time>" of the newest commit (or abort) record in
# the archived segments before SEGNO (read with pg_waldump, looking back up to 8 segments).
last_commit_before() {
  local s f tmp name ts=""
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/bitpin-waldump.XXXXXX")
  for ((s = $1 - 1; s >= $1 - 8 && s >= 0; s--)); do
    f=$(seg_file "$s")
    [[ -n "$f" ]] || break
    name=${f:0:24}
    unpack "$BACKUP_DIR/wal/$f" >"$tmp/$name" 2>/dev/null || break
    ts=$(TZ=UTC pg_waldump -p "$tmp" "$name" 2>/dev/null | sed -n 's/.*desc: \(COMMIT\|ABORT\) \([0-9-]* [0-9:.]*\) UTC.*/\2/p' | tail -n 1) || true
    rm -f "$tmp/$name"
    [[ -z "$ts" ]] || break
  done
  rm -rf "$tmp"
  [[ -n "$ts" ]] || return 0
  echo "$(date -u -d "${ts} UTC" +%s%6N) $(date -u -d "${ts} UTC" +%Y-%m-%dT%H:%M:%S.%6NZ)"
}

# wal_gap_plan INFO_FILE KIND VALUE US: for a restore of that full backup to a target (KIND time,
# lsn, latest or immediate; VALUE as PostgreSQL gets it; US: a time target in microseconds), looks
# for a gap in the WAL archive after the backup's start. None: prints nothing. A gap the target
# does not need (a time before the last commit before the gap, an LSN before it): says what is
# restorable and prints the last segment number check.sh must find without a gap. A gap the
# target needs: refused (exit 1) with what is restorable.
wal_gap_plan() {
  local info=$1 target_kind=$2 target_value=$3 target_us=${4:-0} start gap end_seg last last_us last_iso what
  start=$(wal_segno "$(info_get "$info" start_wal)")
  gap=$(first_wal_gap "$start")
  [[ -n "$gap" ]] || return 0
  end_seg=$(($(lsn_to_dec "$(info_get "$info" end_lsn)") / WAL_SEG_SIZE))
  ((gap > end_seg)) ||
    die "the WAL archive misses segment $(printf '%08X%08X' $((gap * WAL_SEG_SIZE >> 32)) $(((gap * WAL_SEG_SIZE & 0xFFFFFFFF) / WAL_SEG_SIZE))) (log+seg), which full backup $(info_get "$info" id) needs to become consistent; pick another backup (RESTORE_BACKUP_ID)"
  last=$(last_commit_before "$gap")
  read -r last_us last_iso <<<"${last:-0 -}"
  what="the WAL archive has a gap at segment $(printf '%08X%08X' $((gap * WAL_SEG_SIZE >> 32)) $(((gap * WAL_SEG_SIZE & 0xFFFFFFFF) / WAL_SEG_SIZE))) (log+seg): restorable is any time from the backup's end ($(info_get "$info" end_time)) to before ${last_iso} (the last commit before the gap)"
  case "$target_kind" in
    time) ((target_us < last_us)) || die "target ${target_value} needs WAL the archive lacks: ${what}; pick an earlier RESTORE_TARGET_TIME (docs/runbooks/restore.md#wal-gap)" ;;
    lsn) (($(lsn_to_dec "$target_value") / WAL_SEG_SIZE < gap)) || die "target ${target_value} needs WAL the archive lacks: ${what}; pick an earlier target (docs/runbooks/restore.md#wal-gap)" ;;
    immediate) ;;
    *) die "${what}; RESTORE_TARGET=latest needs the whole archive: set RESTORE_TARGET_TIME before ${last_iso} (docs/runbooks/restore.md#wal-gap)" ;;
  esac
  warn "${what}; the target ${target_value:-immediate} needs only WAL before the gap: restoring"
  echo $((gap - 1))
}

# compress_published WAL_DIR [SUMS]: complete segments and timeline history files pg_receivewal
# wrote plain are compressed with BACKUP_COMPRESSION (written as .tmp.<pid>…, fsync'd, renamed;
# then the plain file goes); a .partial of a segment that is complete now is removed. Safe to run
# while pg_receivewal writes (complete names are final) and in two processes at once (the
# receiver and an incremental run). SUMS: bitpin_gzip.py appends the SHA-256 of each file it
# writes there (for sha256_list_known).
compress_published() {
  local dir=$1 sums=${2:-} method=${BACKUP_COMPRESSION%%:*} level="" ext f name seg c done_seg
  local -a cmd
  [[ "$BACKUP_COMPRESSION" != *:* ]] || level=${BACKUP_COMPRESSION#*:}
  case "$method" in
    gzip) ext=.gz cmd=(gzip -c ${level:+"-$level"}) ;;
    lz4) ext=.lz4 cmd=(lz4 -q -c ${level:+"-$level"}) ;;
    zstd) ext=.zst cmd=(zstd -q -c ${level:+"-$level"}) ;;
    none) ext="" ;;
    *) die "BACKUP_COMPRESSION must be gzip[:level], lz4[:level], zstd[:level] or none, got \"${BACKUP_COMPRESSION}\"" ;;
  esac
  # .tmp files of a compression that was killed.
  find "$dir" -maxdepth 1 -name '*.tmp.*' -mmin +10 -delete 2>/dev/null || true
  if [[ -n "$ext" ]]; then
    local -a todo=()
    for f in "$dir"/*; do
      name=${f##*/}
      [[ "$name" =~ ^([0-9A-F]{24}|[0-9A-F]{8}\.history)$ ]] || continue
      todo+=("$f")
    done
    if [[ "$method" == gzip ]] && command -v python3 >/dev/null 2>&1; then
      # zlib in one process (two threads): the deflate pg_receivewal --compress=gzip uses (GNU gzip's is slower).
      ((${#todo[@]} == 0)) || python3 -I -S "$BITPIN_LIB_DIR/bitpin_gzip.py" ${sums:+--sums "$sums"} "${level:-6}" "${todo[@]}"
    else
      for f in "${todo[@]}"; do
        [[ -f "$f" ]] || continue
        "${cmd[@]}" <"$f" >"$f$ext.tmp.$$"
        sync "$f$ext.tmp.$$"
        mv -f "$f$ext.tmp.$$" "$f$ext"
        rm -f -- "$f"
      done
    fi
  fi
  for f in "$dir"/*.partial; do
    name=${f##*/}
    [[ "$name" =~ ^[0-9A-F]{24}(\.(gz|lz4|zst))?\.partial$ ]] || continue # not SHA256SUMS.partial
    seg=${name:0:24}
    done_seg=""
    for c in "$seg" "$seg.gz" "$seg.lz4" "$seg.zst"; do [[ ! -f "$dir/$c" ]] || done_seg=$c; done
    [[ -z "$done_seg" ]] || rm -f -- "$f"
  done
}

# compress_follow WAL_DIR STOPFILE [SUMS]: compresses complete segments as pg_receivewal completes
# them, until STOPFILE is gone (or the script that started it, $$, has ended); then the ones left,
# and returns. Run in the background by an incremental run's fallback, so compression overlaps the
# streaming: gzip with python3 is one bitpin_gzip.py --follow (it looks every 50 ms, two threads);
# other methods compress_published every 0.2 s.
compress_follow() {
  local dir=$1 stop=$2 sums=${3:-} level=""
  [[ "$BACKUP_COMPRESSION" != *:* ]] || level=${BACKUP_COMPRESSION#*:}
  if [[ "${BACKUP_COMPRESSION%%:*}" == gzip ]] && command -v python3 >/dev/null 2>&1; then
    python3 -I -S "$BITPIN_LIB_DIR/bitpin_gzip.py" ${sums:+--sums "$sums"} --follow "$dir" "$stop" "${level:-6}" "$$"
    return
  fi
  while [[ -e "$stop" ]] && kill -0 "$$" 2>/dev/null; do
    compress_published "$dir" || true
    sleep 0.2
  done
  compress_published "$dir"
}
