# shellcheck shell=bash
# Part of lib.sh, sourced by it (never on its own).

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
