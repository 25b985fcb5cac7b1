#!/usr/bin/env bash
# restore_command of a recovering instance: wal-restore.sh ARCHIVE_DIR %f %p [SEGMENT_BYTES [AHEAD]]
# Copies WAL file %f from the archive to %p: a complete segment (plain or compressed) first, else
# the .partial one pg_receivewal left (padded to the segment size), else a timeline history file.
# Exit 1 = "not in the archive" (normal at the end of the archive). A segment whose SHA-256 does
# not match SHA256SUMS exits 255, which PostgreSQL treats as fatal: recovery stops loudly instead
# of ending early on damaged WAL.
#
# Prefetch: PostgreSQL asks for one segment at a time and replays nothing while it waits, so
# after handing a segment over this starts, in the background, the same checks and unpacking for
# the next AHEAD (default 2; 0 = off) complete segments into <dir of %p>/bitpin-prefetch/. The
# server replays one segment while the next ones are unpacked on another core; a prepared segment
# is handed over by a rename. Whatever the background could not prepare (missing, checksum or
# size not as recorded, unreadable, a .partial segment) is left to the request for it, which
# checks and reports it as above.
set -euo pipefail
shopt -s nullglob
archive=$1 file=$2 dest=$3 seg_bytes=${4:-16777216} ahead=${5:-2}
say() { printf 'bitpin wal-restore: %s\n' "$*" >&2; }

# Runs once per segment while the server waits for it: as few processes as possible (awk,
# sha256sum, the decompressor, stat).
sum_ok() { # path name
  local want got
  want=$(awk -v n="$2" '$2 == n { w = $1 } END { print w }' "$archive/SHA256SUMS" 2>/dev/null) || want=""
  [[ -z "$want" ]] && return 0
  got=$(sha256sum <"$1")
  [[ "${got%% *}" == "$want" ]]
}

# partial_ok unpacked name: the WAL unpacked from the .partial segment name still starts with
# the bytes SHA256SUMS.partial recorded for it ("<sha256> <bytes> <name>"; true when none are).
partial_ok() {
  local want bytes got
  read -r want bytes < <(awk -v n="$2" '$3 == n { w = $1; b = $2 } END { print w, b }' "$archive/SHA256SUMS.partial" 2>/dev/null) || true
  [[ -n "${want:-}" ]] || return 0
  (($(stat -c %s "$1") >= bytes)) || return 1
  got=$(head -c "$bytes" "$1" | sha256sum)
  [[ "${got%% *}" == "$want" ]]
}

unpack() { # path -> stdout
  case "$1" in
    *.gz | *.gz.partial) gzip -dc -- "$1" ;;
    *.lz4 | *.lz4.partial) lz4 -dc -- "$1" ;;
    *.zst | *.zst.partial) zstd -dc -- "$1" ;;
    *) cat -- "$1" ;;
  esac
}

if [[ "$file" =~ ^[0-9A-F]{8}\.history$ ]]; then
  # pg_receivewal compresses timeline history files too.
  for cand in "$file" "$file.gz" "$file.lz4" "$file.zst"; do
    [[ -f "$archive/$cand" ]] || continue
    if ! sum_ok "$archive/$cand" "$cand"; then
      say "ERROR ${cand} does not match its SHA-256 in ${archive}/SHA256SUMS; stopping recovery"
      exit 255
    fi
    unpack "$archive/$cand" >"$dest.tmp" && mv -- "$dest.tmp" "$dest"
    exit 0
  done
  exit 1
fi
[[ "$file" =~ ^[0-9A-F]{24}$ ]] || exit 1
[[ "$ahead" =~ ^[0-9]+$ ]] || ahead=0

# fetch NAME OUT [complete]: segment NAME checked and unpacked into OUT (src: the archive file).
# Returns 0, 1 (not in the archive; with "complete": only a .partial one), 2 (SHA-256 differs),
# 3 (unreadable), 4 (wrong size).
fetch() {
  local cand size
  src=""
  for cand in "$1" "$1.gz" "$1.lz4" "$1.zst" "$1.partial" "$1.gz.partial" "$1.lz4.partial" "$1.zst.partial"; do
    if [[ -f "$archive/$cand" ]]; then
      src=$cand
      break
    fi
  done
  [[ -n "$src" && ! ("${3:-}" == complete && "$src" == *.partial) ]] || return 1
  sum_ok "$archive/$src" "$src" || return 2
  if [[ "$src" == *.partial ]]; then
    # A compressed .partial still being written (or whose writer was killed) has no end yet: its
    # WAL so far is what counts, checked against SHA256SUMS.partial.
    unpack "$archive/$src" >"$2" 2>/dev/null || true
    partial_ok "$2" "$src" || {
      rm -f -- "$2"
      return 2
    }
  else
    unpack "$archive/$src" >"$2" || {
      rm -f -- "$2"
      return 3
    }
  fi
  size=$(stat -c %s "$2")
  if [[ $size -lt $seg_bytes && "$src" == *.partial ]]; then
    truncate -s "$seg_bytes" "$2"
  elif [[ $size -ne $seg_bytes ]]; then
    rm -f -- "$2"
    return 4
  fi
}

# next_segment NAME VAR: the name of the segment after NAME on the same timeline.
next_segment() {
  local log=$((16#${1:8:8})) seg=$((16#${1:16:8} + 1))
  if ((seg >= 4294967296 / seg_bytes)); then seg=0 log=$((log + 1)); fi
  printf -v "$2" '%s%08X%08X' "${1:0:8}" "$log" "$seg"
}

# prefetch NAME: prepares the AHEAD segments after NAME in $pf (each under a lock directory holding
# the preparing process's id; written as NAME.tmp, renamed when complete) and drops prepared ones
# the server will not ask for next.
prefetch() {
  local want=" " y=$1 k n f
  mkdir -p "$pf"
  for ((k = 0; k < ahead; k++)); do
    next_segment "$y" y
    want+="$y "
  done
  for f in "$pf"/*; do
    n=${f##*/}
    [[ "$n" == *.lock || "$n" == *.tmp || "$want" == *" $n "* ]] || rm -f -- "$f"
  done
  for y in $want; do
    [[ ! -f "$pf/$y" ]] || continue
    mkdir "$pf/$y.lock" 2>/dev/null || continue
    echo "$BASHPID" >"$pf/$y.lock/pid"
    n=0
    fetch "$y" "$pf/$y.tmp" complete || n=$?
    if [[ $n -eq 0 ]]; then mv -- "$pf/$y.tmp" "$pf/$y" || true; else rm -f -- "$pf/$y.tmp"; fi
    rm -rf -- "$pf/$y.lock" || true
    [[ $n -ne 1 ]] || break # the end of the archive
  done
}

pf=bitpin-prefetch
[[ "$dest" != */* ]] || pf="${dest%/*}/bitpin-prefetch"
handed=false
if ((ahead > 0)); then
  # Being prepared: wait for it while the preparing process lives (at most 30 s).
  if [[ -d "$pf/$file.lock" ]]; then
    pid=$(cat "$pf/$file.lock/pid" 2>/dev/null) || pid=""
    for ((i = 0; i < 3000; i++)); do
      [[ -d "$pf/$file.lock" && ! -f "$pf/$file" ]] || break
      if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then break; fi
      sleep 0.01
      [[ -n "$pid" ]] || pid=$(cat "$pf/$file.lock/pid" 2>/dev/null) || pid=""
    done
  fi
  if [[ -f "$pf/$file" ]] && mv -- "$pf/$file" "$dest" 2>/dev/null; then handed=true; fi
fi

if [[ "$handed" != true ]]; then
  # Written to %p directly: the server ignores %p unless this exits 0, and removes it before asking.
  rc=0
  fetch "$file" "$dest" || rc=$?
  case $rc in
    0) ;;
    1) exit 1 ;;
    2)
      say "ERROR ${src} does not match its SHA-256 in ${archive}/SHA256SUMS$([[ "$src" != *.partial ]] || echo '.partial'): the archive is damaged; stopping recovery"
      exit 255
      ;;
    3)
      say "ERROR cannot read ${src}: the archive is damaged; stopping recovery"
      exit 255
      ;;
    *)
      say "ERROR ${src} does not hold ${seg_bytes} bytes; stopping recovery"
      exit 255
      ;;
  esac
  [[ "$src" != *.partial ]] || say "restored ${file} from ${src} (the newest archived WAL)"
fi

if ((ahead > 0)); then
  # Detached from the server's wait: stdin/stdout/stderr closed, not waited for.
  (prefetch "$file") </dev/null >/dev/null 2>&1 &
fi
exit 0
