# shellcheck shell=bash
# Common functions of the bitpin backup scripts. Sourced, never run.
#
# Every script is driven by environment variables only, so it runs the same in the CronJob's
# container and on a workstation (see libs/backup/README.md for the full list):
#   libpq:   PGHOST PGPORT PGUSER PGPASSWORD|PGPASSFILE PGSSLMODE PGSSLROOTCERT PGDATABASE ...
#   backup:  BACKUP_DIR (required) BACKUP_SLOT BACKUP_KEEP_FULL BACKUP_RETENTION_DAYS ...
#
# Conventions: log lines go to stderr as "<UTC time> <script> <LEVEL> <message>"; any failure
# ends the script with a non-zero status (set -euo pipefail + an ERR trap that names the line).

set -euo pipefail
set -o errtrace
shopt -s nullglob

BITPIN_SCRIPT=${BITPIN_SCRIPT:-$(basename "${BASH_SOURCE[1]:-$0}" .sh)}
BITPIN_SCRIPTS_DIR=${BITPIN_SCRIPTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

log() { printf '%s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$BITPIN_SCRIPT" "$*" >&2; }
info() { log "INFO $*"; }
warn() { log "WARNING $*"; }
die() {
  log "ERROR $*"
  exit 1
}
trap 'rc=$?; log "ERROR line ${LINENO}: \"${BASH_COMMAND}\" exited with ${rc}"; exit ${rc}' ERR

# PostgreSQL client binaries: PG_BINDIR wins, then PATH, then the Debian/CNPG location (Debian puts
# only some tools on PATH through wrappers; pg_verifybackup and pg_waldump are not among them).
if [[ -n "${PG_BINDIR:-}" ]]; then
  PATH="${PG_BINDIR}:${PATH}"
elif ! command -v pg_verifybackup >/dev/null 2>&1; then
  for d in /usr/lib/postgresql/*/bin; do PATH="${d}:${PATH}"; done
fi
export PATH

# ---- settings (defaults are the dev/prod values; the CronJobs set every one explicitly) -------
BACKUP_DIR=${BACKUP_DIR:-}
BACKUP_SLOT=${BACKUP_SLOT:-bitpin_backup}
BACKUP_KEEP_FULL=${BACKUP_KEEP_FULL:-7}
BACKUP_RETENTION_DAYS=${BACKUP_RETENTION_DAYS:-7}
BACKUP_VOLUME_WARN_RATIO=${BACKUP_VOLUME_WARN_RATIO:-0.8}
# pg_basebackup/pg_receivewal compression method[:level]: gzip keeps restores dependency-free.
BACKUP_COMPRESSION=${BACKUP_COMPRESSION:-gzip:1}
# auto: switch WAL when the role may (EXECUTE on pg_switch_wal), else keep the open segment as .partial;
# required: fail without the privilege; off: never switch.
BACKUP_SWITCH_WAL=${BACKUP_SWITCH_WAL:-auto}
# required: every run writes a sentinel row (restore verification checks it); off: none.
BACKUP_SENTINEL=${BACKUP_SENTINEL:-required}
BACKUP_SENTINEL_SCHEMA=${BACKUP_SENTINEL_SCHEMA:-bitpin_backup}
BACKUP_LOCK_TIMEOUT=${BACKUP_LOCK_TIMEOUT:-600}
BACKUP_RECEIVE_TIMEOUT=${BACKUP_RECEIVE_TIMEOUT:-600}
BACKUP_SCRATCH_DIR=${BACKUP_SCRATCH_DIR:-}
PGDATABASE=${PGDATABASE:-app}
export PGDATABASE
export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-10}
export PGAPPNAME=${PGAPPNAME:-bitpin-${BITPIN_SCRIPT}}

require_backup_dir() { # [ro]
  [[ -n "$BACKUP_DIR" ]] || die "BACKUP_DIR is not set; point it at the backup volume (e.g. /backup)"
  [[ -d "$BACKUP_DIR" ]] || die "BACKUP_DIR ${BACKUP_DIR} does not exist"
  [[ "${1:-}" != ro ]] || return 0
  [[ -w "$BACKUP_DIR" ]] || die "BACKUP_DIR ${BACKUP_DIR} is not writable by uid $(id -u)"
  mkdir -p "$BACKUP_DIR/full" "$BACKUP_DIR/wal" "$BACKUP_DIR/verify"
  [[ -n "$BACKUP_SCRATCH_DIR" ]] || BACKUP_SCRATCH_DIR="$BACKUP_DIR/.scratch"
  mkdir -p "$BACKUP_SCRATCH_DIR"
}

require_number() { # name value
  [[ "$2" =~ ^[0-9]+$ ]] || die "$1 must be a whole number, got \"$2\""
}

# ---- SQL ------------------------------------------------------------------------------------
# q SQL...: one statement, unaligned tuples only, fails on any error.
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$@"; }

# now_epoch: the wall clock (BACKUP_NOW overrides it for retention tests).
now_epoch() {
  if [[ -n "${BACKUP_NOW:-}" ]]; then date -u -d "$BACKUP_NOW" +%s; else date -u +%s; fi
}

to_epoch() { date -u -d "$1" +%s 2>/dev/null || die "cannot parse time \"$1\" (use ISO 8601, e.g. 2026-01-31T14:05:00Z)"; }

# LSN "X/Y" -> decimal byte position.
lsn_to_dec() {
  local hi=${1%/*} lo=${1#*/}
  echo $(((16#$hi << 32) + 16#$lo))
}

# Segment number of a WAL file name TTTTTTTTXXXXXXXXYYYYYYYY (16 MB segments: XXXXXXXX*256+YY).
wal_segno() {
  local f=${1:0:24}
  echo $(((16#${f:8:8} * 4294967296 / WAL_SEG_SIZE) + 16#${f:16:8}))
}
WAL_SEG_SIZE=${WAL_SEG_SIZE:-16777216}

# Name of the WAL file holding LSN on timeline TLI.
wal_name() { # tli lsn
  local pos segno per
  pos=$(lsn_to_dec "$2")
  segno=$((pos / WAL_SEG_SIZE))
  per=$((4294967296 / WAL_SEG_SIZE))
  printf '%08X%08X%08X' "$1" $((segno / per)) $((segno % per))
}

# ---- compression ----------------------------------------------------------------------------
# gzip is inflated through zlib (python3, as in the CloudNativePG images) when present: 3-4x less
# CPU than GNU gzip -d. One read of a stream serves all of: a copy of the compressed bytes (a
# backup being written), their SHA-256, and the inflated bytes, written out or extracted as a tar
# right there (a multi-GB base backup through a pipe into tar costs ~40 % more CPU).
IFS= read -r -d '' BITPIN_INFLATE_PY <<'PY' || true
import hashlib, os, sys, zlib

# argv: COPY_TO SHA_OUT DEST (each may be ""): gzip on stdin; the compressed bytes copied to
# COPY_TO, their SHA-256 (hex) written to SHA_OUT at the end, the inflated bytes extracted as a
# tar into DEST, else written to stdout.
copy_to, sha_out, dest = (sys.argv[1:] + ["", "", ""])[:3]


def fail(msg):
    sys.exit("bitpin inflate: " + msg)


class Untar:
    """Extracts a tar stream fed in pieces: the ustar/GNU members pg_basebackup and GNU tar write
    (files, directories, symbolic links, GNU long names, pax path/linkpath/size)."""

    def __init__(self, root):
        self.root, self.hdr, self.fd, self.left, self.pad = root, bytearray(), -1, 0, 0
        self.path, self.mtime, self.meta, self.ext, self.ended = None, 0, None, {}, False
        self.links, self.dirs = set(), []

    def feed(self, data):
        mv, i, n = memoryview(data), 0, len(data)
        while i < n:
            if self.left:
                k = min(self.left, n - i)
                if self.meta is not None:
                    self.meta += mv[i:i + k]
                else:
                    part = mv[i:i + k]
                    while part:
                        part = part[os.write(self.fd, part):]
                i += k
                self.left -= k
                if not self.left:
                    self.member_done()
            elif self.pad:
                k = min(self.pad, n - i)
                i += k
                self.pad -= k
            elif self.ended:
                return
            else:
                k = min(512 - len(self.hdr), n - i)
                self.hdr += mv[i:i + k]
                i += k
                if len(self.hdr) == 512:
                    self.header(bytes(self.hdr))
                    self.hdr.clear()

    @staticmethod
    def number(field):
        if field[0] & 0x80:  # base-256 (GNU, sizes over 8 GB)
            return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
        field = field.split(b"\0", 1)[0].strip(b" ")
        return int(field, 8) if field else 0

    def header(self, h):
        if h == bytes(512):
            self.ended = True
            return
        if self.number(h[148:156]) != sum(h[:148]) + 256 + sum(h[156:]):
            fail("tar header checksum mismatch (damaged archive)")
        kind = h[156:157]
        size = self.number(h[124:136])
        name = h[:100].split(b"\0", 1)[0]
        if h[257:263] == b"ustar\0" and h[345] != 0:
            name = h[345:500].split(b"\0", 1)[0] + b"/" + name
        link = h[157:257].split(b"\0", 1)[0]
        ext, self.ext = self.ext, {}
        name, link = ext.get("path", name), ext.get("linkpath", link)
        size = int(ext.get("size", size))
        self.pad = -size % 512
        if kind in (b"L", b"K", b"x", b"g"):  # data that describes the next member
            self.meta, self.kind, self.left = bytearray(), kind, size
            if not size:
                self.member_done()
            return
        parts = [p for p in os.fsdecode(name).split("/") if p not in ("", ".")]
        if os.fsdecode(name).startswith("/") or ".." in parts:
            fail("refusing tar member outside the target directory: %r" % name)
        for j in range(1, len(parts)):
            if tuple(parts[:j]) in self.links:
                fail("refusing tar member below a symbolic link: %r" % name)
        path = os.path.join(self.root, *parts)
        mode = self.number(h[100:108]) & 0o7777
        self.mtime = self.number(h[136:148])
        if kind in (b"0", b"\0", b"7"):
            if parts[:-1]:
                os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode or 0o600)
            self.path, self.left = path, size
            if not size:
                self.member_done()
        elif kind == b"5":
            if parts:
                os.makedirs(path, mode or 0o700, exist_ok=True)
                self.dirs.append((path, self.mtime))
        elif kind == b"2":
            os.symlink(os.fsdecode(link), path)
            self.links.add(tuple(parts))
        else:
            fail("unsupported tar member type %r for %r" % (kind, name))

    def member_done(self):
        if self.meta is not None:
            data, self.meta = bytes(self.meta), None
            if self.kind == b"L":
                self.ext["path"] = data.split(b"\0", 1)[0]
            elif self.kind == b"K":
                self.ext["linkpath"] = data.split(b"\0", 1)[0]
            elif self.kind == b"x":
                while data:
                    length = int(data.split(b" ", 1)[0])
                    key, _, value = data[:length].split(b" ", 1)[1][:-1].partition(b"=")
                    if key in (b"path", b"linkpath", b"size"):
                        self.ext[key.decode()] = value
                    data = data[length:]
            return
        os.close(self.fd)
        self.fd = -1
        os.utime(self.path, (self.mtime, self.mtime))

    def close(self):
        if self.left or self.hdr or self.fd >= 0:
            fail("tar stream truncated")
        for path, mtime in reversed(self.dirs):  # as tar does: after their contents
            os.utime(path, (mtime, mtime))


copy = open(copy_to, "wb") if copy_to else None
sha = hashlib.sha256() if sha_out else None
out = Untar(dest) if dest else None
if out is None:
    try:
        import fcntl
        fcntl.fcntl(1, fcntl.F_SETPIPE_SZ, 1 << 20)  # fewer switches to the reader: ~20 % less CPU
    except (ImportError, AttributeError, OSError):
        pass  # not a pipe, or a smaller limit: the default size works too
write = out.feed if out else sys.stdout.buffer.write
d, r = zlib.decompressobj(47), sys.stdin.buffer
while True:
    b = r.read(1 << 14)  # 16 KiB: inflates to a buffer malloc reuses (1 MiB reads: 2x the CPU)
    if not b:
        break
    if copy:
        copy.write(b)
    if sha:
        sha.update(b)
    write(d.decompress(b))
    while d.eof and d.unused_data:  # concatenated gzip members
        rest, d = d.unused_data, zlib.decompressobj(47)
        write(d.decompress(rest))
write(d.flush())
if not d.eof:
    fail("gzip stream truncated")
if out:
    out.close()
if copy:
    copy.close()
if sha:
    with open(sha_out, "w") as f:
        f.write(sha.hexdigest() + "\n")
PY
# inflate_gzip [COPY_TO [SHA_OUT [DEST]]]: stdin inflated to stdout, or extracted into DEST.
inflate_gzip() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -I -S -c "$BITPIN_INFLATE_PY" "$@" # -I -S: the standard library only, ~30 ms less start-up
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
BITPIN_SHA256_PY='import hashlib, sys
buf = bytearray(1 << 20)
view = memoryview(buf)
for name in sys.argv[1:]:
    h = hashlib.sha256()
    with open(name, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    sys.stdout.write(h.hexdigest() + "  " + name + "\n")'
sha256_list() {
  local dir=$1
  shift
  (($# > 0)) || return 0
  if command -v python3 >/dev/null 2>&1; then
    (cd "$dir" && python3 -I -S -c "$BITPIN_SHA256_PY" "$@")
  else
    (cd "$dir" && sha256sum -- "$@")
  fi
}
# untar DIR: extract the tar on stdin into DIR, reading 1 MiB records (tar's default 10 KiB ones
# cost ~40 % more CPU on a multi-GB base backup).
untar() { tar -b 2048 -B -xf - -C "$1"; }

# ---- catalog --------------------------------------------------------------------------------
# info_get FILE KEY: a value from a key=value file.
info_get() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# Good full backups (status=ok), oldest first, one directory per line.
good_backups() {
  local d
  for d in "$BACKUP_DIR"/full/*/; do
    d=${d%/}
    [[ -f "$d/backup.info" && "$(info_get "$d/backup.info" status)" == ok ]] && echo "$d"
  done
  return 0
}

# ---- locking and volume ---------------------------------------------------------------------
take_lock() {
  exec 9>"$BACKUP_DIR/.lock"
  if ! flock -w "$BACKUP_LOCK_TIMEOUT" 9; then
    die "another backup run holds $BACKUP_DIR/.lock for more than ${BACKUP_LOCK_TIMEOUT}s"
  fi
}

# Says so when the backup volume is nearly full (the run still succeeds; alerts watch the PVC too).
check_volume() {
  local used total pct
  read -r total used < <(df -P -k "$BACKUP_DIR" | awk 'NR==2 {print $2, $3}')
  [[ -n "$total" && "$total" -gt 0 ]] || return 0
  pct=$(awk -v u="$used" -v t="$total" 'BEGIN { printf "%.1f", 100 * u / t }')
  if awk -v u="$used" -v t="$total" -v r="$BACKUP_VOLUME_WARN_RATIO" 'BEGIN { exit !(u / t >= r) }'; then
    warn "backup volume ${BACKUP_DIR} is ${pct}% full (warning at $(awk -v r="$BACKUP_VOLUME_WARN_RATIO" 'BEGIN { printf "%g", 100 * r }')%): $((used / 1024)) MiB of $((total / 1024)) MiB used; lower retention or grow the PersistentVolumeClaim"
  else
    info "backup volume ${BACKUP_DIR} is ${pct}% full"
  fi
}

# ---- replication slot -----------------------------------------------------------------------
# Creates the WAL slot (reserving WAL at once, which pg_receivewal --create-slot does not) and
# refuses to go on when PostgreSQL invalidated it (max_slot_wal_keep_size): WAL is then missing.
ensure_slot() {
  local status
  status=$(q "SELECT coalesce(wal_status, 'unreserved') FROM pg_replication_slots WHERE slot_name = '${BACKUP_SLOT}'")
  if [[ -z "$status" ]]; then
    q "SELECT pg_create_physical_replication_slot('${BACKUP_SLOT}', true)" >/dev/null
    info "created physical replication slot ${BACKUP_SLOT}"
    return 0
  fi
  if [[ "$status" == lost ]]; then
    die "replication slot ${BACKUP_SLOT} was invalidated (WAL beyond max_slot_wal_keep_size was removed): the WAL archive has a gap; drop the slot, run the full backup, see docs/runbooks/restore.md#slot-lost"
  fi
  [[ "$status" != unreserved ]] || warn "replication slot ${BACKUP_SLOT} reserves no WAL yet"
}

# ---- sentinel -------------------------------------------------------------------------------
# Each run commits one row to <schema>.sentinel (serialised by a table lock) and records the
# table's row count and checksum as of that commit. The restore verification recomputes both on
# the restored copy: an exact proof that the WAL up to that run replays.
SENTINEL_SQL_CHECKSUM="SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ':' || run_id || ':' || kind || ':' || token, ',' ORDER BY id)), '-') FROM ${BACKUP_SENTINEL_SCHEMA}.sentinel"

write_sentinel() { # kind run_id -> prints "id count md5"
  [[ "$BACKUP_SENTINEL" != off ]] || return 0
  local out token errf
  token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  errf=$(mktemp)
  if ! out=$(psql -X -q -A -t -v ON_ERROR_STOP=1 2>"$errf" <<SQL
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS ${BACKUP_SENTINEL_SCHEMA};
CREATE TABLE IF NOT EXISTS ${BACKUP_SENTINEL_SCHEMA}.sentinel (
  id bigserial PRIMARY KEY, run_id text NOT NULL, kind text NOT NULL, token text NOT NULL,
  written_at timestamptz NOT NULL DEFAULT clock_timestamp());
BEGIN;
LOCK TABLE ${BACKUP_SENTINEL_SCHEMA}.sentinel IN EXCLUSIVE MODE;
INSERT INTO ${BACKUP_SENTINEL_SCHEMA}.sentinel (run_id, kind, token) VALUES ('$2', '$1', '${token}') RETURNING id;
${SENTINEL_SQL_CHECKSUM};
COMMIT;
SQL
  ); then
    out=$(tr '\n' ' ' <"$errf")
    rm -f "$errf"
    die "cannot write the sentinel row in ${PGDATABASE}.${BACKUP_SENTINEL_SCHEMA} (${out}); grant the backup role CREATE on database ${PGDATABASE} (docs/runbooks/restore.md#setup) or set BACKUP_SENTINEL=off"
  fi
  rm -f "$errf"
  # psql prints: id, then "count md5"
  echo "$(sed -n 1p <<<"$out") $(sed -n 2p <<<"$out")"
}
