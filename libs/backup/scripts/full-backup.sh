#!/usr/bin/env bash
# Full backup (CronJob bitpin-full-backup, daily 02:00 UTC), run against the primary:
#   1. makes sure the WAL slot exists first, so the WAL archive starts before this backup does;
#   2. commits a sentinel row (restore verification checks it);
#   3. pg_basebackup: compressed tar + backup_manifest + the WAL needed for consistency;
#   4. extracts it into scratch space and checks it with pg_verifybackup;
#   5. pg_dump -Fc of $PGDATABASE, with per-table row counts taken in the dump's own snapshot;
#   6. SHA256SUMS of every file, then publishes full/<id>/ atomically and applies retention.
# Exits non-zero on any failure and removes what the failed run wrote.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_backup_dir

run_id=$(date -u +%Y%m%dT%H%M%SZ)
[[ ! -e "$BACKUP_DIR/full/$run_id" ]] || run_id="${run_id}-$$"
part="$BACKUP_DIR/full/.partial-$run_id"
verify_dir="$BACKUP_SCRATCH_DIR/verify-$run_id"
snap_pid=""

cleanup() {
  local rc=$?
  [[ -z "$snap_pid" ]] || kill "$snap_pid" 2>/dev/null || true
  rm -rf "$verify_dir"
  if [[ $rc -ne 0 ]]; then
    rm -rf "$part"
    log "ERROR full backup ${run_id} failed (exit ${rc}); nothing was published"
  fi
}
trap cleanup EXIT

case "$BACKUP_COMPRESSION" in
  gzip*) ext=.gz unpack="gzip -dc" ;;
  lz4*) ext=.lz4 unpack="lz4 -dc" ;;
  zstd*) ext=.zst unpack="zstd -dc" ;;
  none) ext="" unpack="cat" ;;
  *) die "BACKUP_COMPRESSION must be gzip[:level], lz4[:level], zstd[:level] or none, got \"${BACKUP_COMPRESSION}\"" ;;
esac

info "full backup ${run_id} of ${PGHOST:-local}:${PGPORT:-5432} (sslmode ${PGSSLMODE:-default}) into ${BACKUP_DIR}"
server_version=$(q "SHOW server_version_num")
client_major=$(pg_basebackup --version | sed -E 's/.* ([0-9]+)[.0-9]*.*/\1/')
[[ "${server_version:0:2}" == "$client_major" ]] ||
  die "server is PostgreSQL ${server_version}, client tools are ${client_major}; use the matching image"

ensure_slot
sentinel=$(write_sentinel full "$run_id")
mkdir -p "$part" "$verify_dir"

# -- physical ---------------------------------------------------------------------------------
t0=$(date +%s)
compress_opt=()
[[ "$BACKUP_COMPRESSION" == none ]] || compress_opt=(--compress="client-${BACKUP_COMPRESSION}")
pg_basebackup -D "$part" -F tar -X stream "${compress_opt[@]}" --checkpoint=fast \
  --manifest-checksums=CRC32C --label="bitpin-full-${run_id}" --no-password
# The server's clock (which also stamps the commits a recovery target is compared with), taken
# after the backup ended: an upper bound of its consistency point.
end=$(q "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || ' ' || ceil(extract(epoch FROM clock_timestamp()))::bigint")
read -r end_iso end_epoch <<<"$end"
t1=$(date +%s)
info "base backup written in $((t1 - t0))s ($(du -sh "$part" | cut -f1))"

for f in "base.tar${ext}" "pg_wal.tar${ext}" backup_manifest; do
  [[ -s "$part/$f" ]] || die "pg_basebackup did not write $f (extra tablespaces are not supported)"
done
mkdir -p "$verify_dir/pg_wal"
$unpack "$part/base.tar${ext}" | tar -xf - -C "$verify_dir"
$unpack "$part/pg_wal.tar${ext}" | tar -xf - -C "$verify_dir/pg_wal"
pg_verifybackup --quiet -m "$part/backup_manifest" "$verify_dir" ||
  die "pg_verifybackup rejected backup ${run_id}"
label="$verify_dir/backup_label"
start_lsn=$(sed -n 's/^START WAL LOCATION: \([0-9A-F/]*\) (file \([0-9A-F]*\)).*/\1/p' "$label")
start_wal=$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]*\)).*/\1/p' "$label")
start_time=$(sed -n 's/^START TIME: //p' "$label")
timeline=$(sed -n 's/^START TIMELINE: //p' "$label")
end_lsn=$(grep -o '"End-LSN": "[0-9A-F/]*"' "$part/backup_manifest" | tail -n 1 | sed 's/.*: "\(.*\)"/\1/')
[[ -n "$start_wal" && -n "$end_lsn" ]] || die "cannot read the start/end WAL position of backup ${run_id}"
rm -rf "$verify_dir"
t2=$(date +%s)
info "pg_verifybackup: backup ${run_id} verified in $((t2 - t1))s (WAL ${start_lsn} .. ${end_lsn})"

# -- logical ----------------------------------------------------------------------------------
# One exported snapshot serves pg_dump and the row counts, so the counts describe the dump exactly.
coproc SNAP { exec psql -X -q -A -t -v ON_ERROR_STOP=1 2>&1; }
snap_pid=$SNAP_PID
printf '%s\n' "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;" "SELECT pg_export_snapshot();" >&"${SNAP[1]}"
snapshot=""
read -r -t 60 snapshot <&"${SNAP[0]}" || true
[[ "$snapshot" =~ ^[0-9A-F]+-[0-9A-F]+-[0-9]+$ ]] || die "cannot export a snapshot for pg_dump: ${snapshot:-no answer}"
dump_opt=()
[[ -z "${BACKUP_DUMP_COMPRESS_LEVEL:-}" ]] || dump_opt=(--compress="$BACKUP_DUMP_COMPRESS_LEVEL")
# The sentinel schema stays out of the dump: it belongs to the backup role, and a restore as the
# application's owner must be able to replace everything the dump holds.
pg_dump -F custom "${dump_opt[@]}" --snapshot="$snapshot" --no-password --exclude-schema="$BACKUP_SENTINEL_SCHEMA" \
  -f "$part/${PGDATABASE}.dump" "$PGDATABASE"
psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 >"$part/counts.unsorted" <<SQL
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SET TRANSACTION SNAPSHOT '${snapshot}';
SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> '${BACKUP_SENTINEL_SCHEMA}' \gexec
COMMIT;
SQL
sort "$part/counts.unsorted" >"$part/counts.tsv" && rm "$part/counts.unsorted"
printf 'COMMIT;\n\\q\n' >&"${SNAP[1]}"
wait "$snap_pid" || true
snap_pid=""
t3=$(date +%s)
info "pg_dump of ${PGDATABASE}: $(du -h "$part/${PGDATABASE}.dump" | cut -f1), $(wc -l <"$part/counts.tsv") tables counted, in $((t3 - t2))s"

# -- publish ----------------------------------------------------------------------------------
(cd "$part" && sha256sum -- "base.tar${ext}" "pg_wal.tar${ext}" backup_manifest "${PGDATABASE}.dump" counts.tsv >SHA256SUMS)
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
wal=pg_wal.tar${ext}
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
