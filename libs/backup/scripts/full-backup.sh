#!/usr/bin/env bash
# Full backup (CronJob bitpin-full-backup, daily 02:00 UTC), run against the primary:
#   1. makes sure the WAL slot exists first, so the WAL archive starts before this backup does;
#   2. commits a sentinel row (restore verification checks it);
#   3. pg_basebackup: one compressed tar on the volume (manifest and the WAL needed for
#      consistency inside; backup_manifest also beside it), the stored bytes read once on the
#      way: written, SHA-256 taken, unpacked into scratch space (one python3 process);
#   4. pg_verifybackup checks that unpacked copy against the manifest (every file's CRC32C, the WAL);
#   5. pg_dump -Fc (gzip level 1) of $PGDATABASE, with per-table row counts taken in the dump's
#      own snapshot (beside steps 3-4 unless BACKUP_PARALLEL=false);
#   6. SHA256SUMS of every file, then publishes full/<id>/ atomically and applies retention.
# Exits non-zero on any failure and removes what the failed run wrote.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_backup_dir

run_id=$(date -u +%Y%m%dT%H%M%SZ)
[[ ! -e "$BACKUP_DIR/full/$run_id" ]] || run_id="${run_id}-$$"
part="$BACKUP_DIR/full/.partial-$run_id"
# pg_basebackup wants an empty directory of its own: the dump is written beside it, moved in later.
lpart="$BACKUP_DIR/full/.partial-$run_id.logical"
verify_dir="$BACKUP_SCRATCH_DIR/verify-$run_id"
logical_pid="" rm_pid=""

cleanup() {
  local rc=$?
  [[ -z "${logical_pid:-}" ]] || kill "$logical_pid" 2>/dev/null || true
  [[ -z "${rm_pid:-}" ]] || wait "$rm_pid" 2>/dev/null || true
  rm -f "$verify_dir.sha"
  rm -rf "$verify_dir" "$verify_dir.done"
  if [[ $rc -ne 0 ]]; then
    rm -rf "$part" "$lpart"
    log "ERROR full backup ${run_id} failed (exit ${rc}); nothing was published"
  fi
}
trap cleanup EXIT

method=${BACKUP_COMPRESSION%%:*}
case "$method" in
  gzip) ext=.gz ;; lz4) ext=.lz4 ;; zstd) ext=.zst ;; none) ext="" ;;
  *) die "BACKUP_COMPRESSION must be gzip[:level], lz4[:level], zstd[:level] or none, got \"${BACKUP_COMPRESSION}\"" ;;
esac

info "full backup ${run_id} of ${PGHOST:-local}:${PGPORT:-5432} (sslmode ${PGSSLMODE:-default}) into ${BACKUP_DIR}"
server_version=$(q "SHOW server_version_num")
client_major=$(pg_basebackup --version | sed -E 's/.* ([0-9]+)[.0-9]*.*/\1/')
[[ "${server_version:0:2}" == "$client_major" ]] ||
  die "server is PostgreSQL ${server_version}, client tools are ${client_major}; use the matching image"

ensure_slot
sentinel=$(write_sentinel full "$run_id")
mkdir -p "$part" "$lpart"

# -- logical (beside the physical part; with BACKUP_PARALLEL=false before it) --------------------
# One exported snapshot serves pg_dump and the row counts, so the counts describe the dump exactly.
logical_backup() {
  local snapshot="" t snap_pid dump_opt=()
  t=$(date +%s)
  coproc SNAP { exec psql -X -q -A -t -v ON_ERROR_STOP=1 2>&1; }
  # shellcheck disable=SC2153 # SNAP_PID is set by coproc SNAP
  snap_pid=$SNAP_PID
  trap 'kill "$snap_pid" 2>/dev/null || true' EXIT
  printf '%s\n' "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;" "SELECT pg_export_snapshot();" >&"${SNAP[1]}"
  read -r -t 60 snapshot <&"${SNAP[0]}" || true
  [[ "$snapshot" =~ ^[0-9A-F]+-[0-9A-F]+-[0-9]+$ ]] || die "cannot export a snapshot for pg_dump: ${snapshot:-no answer}"
  # gzip level 1 like the base backup (BACKUP_COMPRESSION gzip:1): about a third less pg_dump CPU
  # than its default (6) for a few per cent more bytes; BACKUP_DUMP_COMPRESS_LEVEL= (empty) for the default.
  [[ -z "${BACKUP_DUMP_COMPRESS_LEVEL-1}" ]] || dump_opt=(--compress="${BACKUP_DUMP_COMPRESS_LEVEL-1}")
  # Row counts in the same snapshot, read beside pg_dump (serially: parallel workers would only
  # add CPU on the server while pg_dump, the longer of the two, runs anyway).
  psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 >"$lpart/counts.unsorted" <<SQL &
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SET TRANSACTION SNAPSHOT '${snapshot}';
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> '${BACKUP_SENTINEL_SCHEMA}' \gexec
COMMIT;
SQL
  local counts_pid=$!
  # The sentinel schema stays out of the dump: it belongs to the backup role, and a restore as the
  # application's owner must be able to replace everything the dump holds.
  pg_dump -F custom "${dump_opt[@]}" --snapshot="$snapshot" --no-password --exclude-schema="$BACKUP_SENTINEL_SCHEMA" \
    -f "$lpart/${PGDATABASE}.dump" "$PGDATABASE"
  wait "$counts_pid" || die "counting rows in the dump's snapshot failed"
  sort "$lpart/counts.unsorted" >"$lpart/counts.tsv" && rm "$lpart/counts.unsorted"
  printf 'COMMIT;\n\\q\n' >&"${SNAP[1]}"
  wait "$snap_pid" || true
  info "pg_dump of ${PGDATABASE}: $(du -h "$lpart/${PGDATABASE}.dump" | cut -f1), $(wc -l <"$lpart/counts.tsv") tables counted, in $(($(date +%s) - t))s"
}
# Always a child process (its own traps); waited for at once when BACKUP_PARALLEL=false.
logical_backup &
logical_pid=$!
if [[ "${BACKUP_PARALLEL:-true}" != true ]]; then
  wait "$logical_pid" || die "the logical backup (pg_dump) failed"
  logical_pid=""
fi

# -- physical ---------------------------------------------------------------------------------
# One pass: pg_basebackup streams a compressed tar (its manifest appended, the WAL needed for
# consistency fetched at the end: the WAL slot above keeps that WAL from being recycled) onto the
# volume; on the way its SHA-256 is taken and the very bytes stored are unpacked into scratch
# space, where pg_verifybackup then checks every file's CRC32C against the manifest and parses
# the WAL. What is verified is what was written.
t0=$(date +%s)
compress_opt=()
[[ "$method" == none ]] || compress_opt=(--compress="client-${BACKUP_COMPRESSION}")
mkdir -p "$verify_dir"
chmod 0700 "$verify_dir"
pg_basebackup -D - -F tar -X fetch "${compress_opt[@]}" --checkpoint=fast --manifest-checksums=CRC32C \
  --label="bitpin-full-${run_id}" --no-password |
  unpack_extract "$method" "$part/base.tar${ext}" "$verify_dir.sha" "$verify_dir"
base_sum=$(cut -c1-64 "$verify_dir.sha")
[[ "$base_sum" =~ ^[0-9a-f]{64}$ ]] || die "computing the SHA-256 of the base backup failed"
rm -f "$verify_dir.sha"
# The server's clock (which also stamps the commits a recovery target is compared with), taken
# after the backup ended: an upper bound of its consistency point.
end=$(q "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || ' ' || ceil(extract(epoch FROM clock_timestamp()))::bigint")
read -r end_iso end_epoch <<<"$end"
t1=$(date +%s)
[[ -s "$verify_dir/backup_manifest" && -s "$verify_dir/backup_label" ]] || die "the base backup holds no backup_manifest/backup_label"
[[ -z "$(ls -A "$verify_dir/pg_tblspc" 2>/dev/null)" ]] || die "the cluster has tablespaces, which this backup does not support"
info "base backup written in $((t1 - t0))s ($(du -sh "$part/base.tar${ext}" | cut -f1) compressed)"
cp "$verify_dir/backup_manifest" "$part/backup_manifest"
pg_verifybackup --quiet "$verify_dir" || die "pg_verifybackup rejected backup ${run_id}"
label="$verify_dir/backup_label"
start_lsn=$(sed -n 's/^START WAL LOCATION: \([0-9A-F/]*\) (file \([0-9A-F]*\)).*/\1/p' "$label")
start_wal=$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]*\)).*/\1/p' "$label")
start_time=$(sed -n 's/^START TIME: //p' "$label")
timeline=$(sed -n 's/^START TIMELINE: //p' "$label")
end_lsn=$(grep -o '"End-LSN": "[0-9A-F/]*"' "$part/backup_manifest" | tail -n 1 | sed 's/.*: "\(.*\)"/\1/')
[[ -n "$start_wal" && -n "$end_lsn" ]] || die "cannot read the start/end WAL position of backup ${run_id}"
# The verified copy is removed while the backup is published (waited for before the run ends).
mv "$verify_dir" "$verify_dir.done"
rm -rf "$verify_dir.done" &
rm_pid=$!
t2=$(date +%s)
info "pg_verifybackup: backup ${run_id} verified in $((t2 - t1))s (WAL ${start_lsn} .. ${end_lsn})"

if [[ -n "$logical_pid" ]]; then
  wait "$logical_pid" || die "the logical backup (pg_dump) failed"
  logical_pid=""
fi
mv "$lpart/${PGDATABASE}.dump" "$lpart/counts.tsv" "$part/"
rmdir "$lpart"

# -- publish ----------------------------------------------------------------------------------
{
  printf '%s  %s\n' "$base_sum" "base.tar${ext}"
  sha256_list "$part" backup_manifest "${PGDATABASE}.dump" counts.tsv
} >"$part/SHA256SUMS"
read -r s_id s_count s_md5 <<<"${sentinel:-- - -}"
cat >"$part/backup.info" <<INFO
id=${run_id}
kind=full
label=bitpin-full-${run_id}
server_version=${server_version}
timeline=${timeline}
start_time=${start_time}
start_lsn=${start_lsn}
start_wal=${start_wal}
end_lsn=${end_lsn}
end_time=${end_iso}
end_epoch=${end_epoch}
compression=${BACKUP_COMPRESSION}
base=base.tar${ext}
wal=
database=${PGDATABASE}
dump=${PGDATABASE}.dump
sentinel_id=${s_id}
sentinel_count=${s_count}
sentinel_md5=${s_md5}
duration_seconds=$(($(date +%s) - t0))
status=ok
INFO
sync "$part"/* "$part"

take_lock
mv "$part" "$BACKUP_DIR/full/$run_id"
sync "$BACKUP_DIR/full"
info "published full backup ${run_id} ($(du -sh "$BACKUP_DIR/full/$run_id" | cut -f1)) in $(($(date +%s) - t0))s"
BACKUP_LOCK_HELD=1 bash "$BITPIN_SCRIPTS_DIR/retention.sh"
check_volume
