#!/usr/bin/env bash
# restore_command of a recovering instance: wal-restore.sh ARCHIVE_DIR %f %p [SEGMENT_BYTES]
# Copies WAL file %f from the archive to %p: a complete segment (plain or compressed) first, else
# the .partial one pg_receivewal left (padded to the segment size), else a timeline history file.
# Exit 1 = "not in the archive" (normal at the end of the archive). A segment whose SHA-256 does
# not match SHA256SUMS exits 255, which PostgreSQL treats as fatal: recovery stops loudly instead
# of ending early on damaged WAL.
set -euo pipefail
archive=$1 file=$2 dest=$3 seg_bytes=${4:-16777216}
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

src=""
for cand in "$file" "$file.gz" "$file.lz4" "$file.zst" "$file.partial" "$file.gz.partial" "$file.lz4.partial" "$file.zst.partial"; do
  if [[ -f "$archive/$cand" ]]; then
    src=$cand
    break
  fi
done
[[ -n "$src" ]] || exit 1
if ! sum_ok "$archive/$src" "$src"; then
  say "ERROR ${src} does not match its SHA-256 in ${archive}/SHA256SUMS: the archive is damaged; stopping recovery"
  exit 255
fi
# Written to %p directly: the server ignores %p unless this exits 0, and removes it before asking.
unpack "$archive/$src" >"$dest" || {
  say "ERROR cannot read ${src}: the archive is damaged; stopping recovery"
  rm -f -- "$dest"
  exit 255
}
size=$(stat -c %s "$dest")
if [[ $size -lt $seg_bytes && "$src" == *.partial ]]; then
  truncate -s "$seg_bytes" "$dest"
elif [[ $size -ne $seg_bytes ]]; then
  say "ERROR ${src} holds ${size} bytes, expected ${seg_bytes}; stopping recovery"
  rm -f -- "$dest"
  exit 255
fi
[[ "$src" != *.partial ]] || say "restored ${file} from ${src} (the newest archived WAL)"
