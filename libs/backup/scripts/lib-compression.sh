# shellcheck shell=bash
# Part of lib.sh, sourced by it (never on its own).

# ---- compression ----------------------------------------------------------------------------
# gzip is inflated through zlib (python3, as in the CloudNativePG images) when present: 3-4x less
# CPU than GNU gzip -d. One read of a stream serves all of: a copy of the compressed bytes (a
# backup being written), their SHA-256, and the inflated bytes, written out or extracted as a tar
# right there (a multi-GB base backup through a pipe into tar costs ~40 % more CPU).
# The Python programs sit beside lib.sh (bitpin_inflate.py, bitpin_sha256.py) and run with
# python3 -I -S: the standard library only, ~30 ms less start-up. Without python3 the same work
# is done by tee, GNU gzip, sha256sum and tar.
# inflate_gzip [COPY_TO [SHA_OUT [DEST]]]: stdin inflated to stdout, or extracted into DEST; the
# compressed bytes also copied to COPY_TO and their SHA-256 (hex) written to SHA_OUT (each may be "").
inflate_gzip() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -I -S "$BITPIN_LIB_DIR/bitpin_inflate.py" "$@"
  elif [[ -n "${3:-}" ]]; then
    unpack_copy_tee gzip "$1" "$2" | untar "$3"
  elif [[ $# -gt 0 ]]; then
    unpack_copy_tee gzip "$@"
  else
    gzip -dc
  fi
}
# unpack_stream METHOD: stdin to stdout. unpack FILE: decompress by suffix to stdout.
unpack_stream() {
  case "$1" in
    gzip*) inflate_gzip ;; lz4*) lz4 -dc ;; zstd*) zstd -dc ;; none) cat ;;
    *) die "unknown compression \"$1\"" ;;
  esac
}
unpack() {
  case "$1" in
    *.gz) unpack_stream gzip <"$1" ;; *.lz4) unpack_stream lz4 <"$1" ;; *.zst) unpack_stream zstd <"$1" ;; *) cat -- "$1" ;;
  esac
}
# unpack_copy METHOD COPY_TO SHA_OUT: stdin (compressed by METHOD) to stdout, unpacked; the
# compressed bytes also go to COPY_TO (unless empty) and their SHA-256 (hex) to SHA_OUT.
unpack_copy() {
  case "$1" in
    gzip*) inflate_gzip "$2" "$3" ;;
    *) unpack_copy_tee "$@" ;;
  esac
}
# unpack_extract METHOD COPY_TO SHA_OUT DEST: as unpack_copy, the unpacked tar extracted into DEST.
unpack_extract() {
  case "$1" in
    gzip*) inflate_gzip "$2" "$3" "$4" ;;
    *) unpack_copy_tee "$1" "$2" "$3" | untar "$4" ;;
  esac
}
unpack_copy_tee() { # tee + sha256sum: without python3, and for lz4/zstd/none
  local method=$1 copy=${2:-} out=${3:-} fifo sp rc=0
  if [[ -z "$out" ]]; then
    if [[ "$method" == gzip* ]]; then tee ${copy:+"$copy"} | gzip -dc; else tee ${copy:+"$copy"} | unpack_stream "$method"; fi
    return
  fi
  fifo=$(mktemp -u "${TMPDIR:-/tmp}/bitpin-sum.XXXXXX")
  mkfifo -m 0600 "$fifo"
  { sha256sum <"$fifo" | cut -c1-64 >"$out"; } &
  sp=$!
  if [[ "$method" == gzip* ]]; then
    tee ${copy:+"$copy"} "$fifo" | gzip -dc || rc=$?
  else
    tee ${copy:+"$copy"} "$fifo" | unpack_stream "$method" || rc=$?
  fi
  if [[ $rc -ne 0 ]]; then
    : 2>/dev/null <>"$fifo" || true # a writer that closes at once: sha256sum ends even if tee never opened the fifo
    wait "$sp" 2>/dev/null || true
    rm -f "$fifo"
    return "$rc"
  fi
  wait "$sp" || rc=$?
  rm -f "$fifo"
  return "$rc"
}
# sha256_list DIR NAME...: "<sha256>  <name>" lines, as sha256sum prints them, for files of DIR;
# one process for all of them, python3's hashlib (OpenSSL: SHA-NI where the CPU has it, ~3x
# coreutils here) when present.
sha256_list() {
  local dir=$1
  shift
  (($# > 0)) || return 0
  if command -v python3 >/dev/null 2>&1; then
    (cd "$dir" && python3 -I -S "$BITPIN_LIB_DIR/bitpin_sha256.py" "$@")
  else
    (cd "$dir" && sha256sum -- "$@")
  fi
}
# sha256_list_known KNOWN DIR NAME...: as sha256_list, for files bitpin_gzip.py --sums may have
# written: KNOWN holds "<sha256> <bytes> <inode> <mtime_ns> <name>" lines, the digest taken as the
# file was written; a file whose size, inode and mtime are still those is not read again (one
# stat for all of them), any other is hashed.
sha256_list_known() {
  local known=$1 dir=$2 sum size ino mt name
  shift 2
  (($# > 0)) || return 0
  local -A rec=() want=() got=()
  local -a todo=()
  for name in "$@"; do want[$name]=1; done
  if [[ -s "$known" ]]; then
    while read -r sum size ino mt name; do
      [[ -z "${want[$name]:-}" ]] || rec[$name]="$sum $size $ino $mt"
    done <"$known"
  fi
  if ((${#rec[@]} > 0)); then
    while read -r name size ino mt; do
      sum=${rec[$name]:-}
      [[ -n "$sum" && "$sum" == "${sum%% *} $size $ino ${mt/./}" ]] || continue
      got[$name]=${sum%% *}
    done < <(cd "$dir" && stat -c '%n %s %i %.9Y' -- "${!rec[@]}" 2>/dev/null)
  fi
  for name in "$@"; do [[ -n "${got[$name]:-}" ]] || todo+=("$name"); done
  if ((${#todo[@]} > 0)); then
    while read -r sum name; do got[$name]=$sum; done < <(sha256_list "$dir" "${todo[@]}")
  fi
  for name in "$@"; do
    [[ -n "${got[$name]:-}" ]] || return 1
    printf '%s  %s\n' "${got[$name]}" "$name"
  done
}
# untar DIR: extract the tar on stdin into DIR, reading 1 MiB records (tar's default 10 KiB ones
# cost ~40 % more CPU on a multi-GB base backup).
untar() { tar -b 2048 -B -xf - -C "$1"; }
