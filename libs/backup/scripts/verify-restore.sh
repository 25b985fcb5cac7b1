#!/usr/bin/env bash
# Restore verification (CronJob bitpin-backup-verify, weekly). Proves the newest backup restores:
#   1. check.sh: every checksum of the volume and the continuity of the WAL archive;
#   2. a point-in-time restore of the newest full backup into scratch space (every restored
#      file's checksum checked: RESTORE_VERIFY=full), replaying the WAL up to the newest
#      incremental run (or to the backup's end when none followed it);
#   3. the sentinel table of the restored copy has exactly the rows, and the checksum, that the
#      newest run recorded when it wrote its row;
#   4. every table of the restored copy can be read (row counts, written to the report), and
#      every table the dump knows exists;
#   5. the same backup's logical dump restores into a scratch database with exactly the row
#      counts taken in the dump's snapshot.
# The report goes to $BACKUP_DIR/verify/<run>.txt; a failure ends with
# "RESTORE VERIFICATION FAILED" and a non-zero status, so the Job fails and alerts fire.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_backup_dir

run_id=$(date -u +%Y%m%dT%H%M%SZ)
work="$BACKUP_SCRATCH_DIR/restore-verify-$run_id"
sock=$(mktemp -d "${TMPDIR:-/tmp}/bitpin-verify.XXXXXX")
report="$BACKUP_DIR/verify/$run_id.txt"
pgdata="$work/pgdata"
t0=$(date +%s)

finish() {
  local rc=$?
  [[ ! -f "$pgdata/postmaster.pid" ]] || pg_ctl -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$work" "$sock"
  if [[ $rc -eq 0 ]]; then
    echo "status=ok duration_seconds=$(($(date +%s) - t0))" >>"$report"
    cp "$report" "$BACKUP_DIR/verify/last.txt"
    info "restore verification passed in $(($(date +%s) - t0))s (report ${report})"
  else
    echo "status=failed exit=${rc}" >>"$report"
    cp "$report" "$BACKUP_DIR/verify/last.txt"
    log "ERROR RESTORE VERIFICATION FAILED (exit ${rc}); report ${report}"
  fi
}
trap finish EXIT
: >"$report"
say() { echo "$*" >>"$report"; }

say "run=${run_id}"
bash "$BITPIN_SCRIPTS_DIR/check.sh"
say "check=ok"

mapfile -t backups < <(good_backups)
((${#backups[@]} > 0)) || die "no good full backup to verify in ${BACKUP_DIR}/full"
backup=${backups[${#backups[@]} - 1]}
id=${backup##*/}
info_file="$backup/backup.info"
db=$(info_get "$info_file" database)
end_dec=$(lsn_to_dec "$(info_get "$info_file" end_lsn)")

# The newest incremental run after the backup ended is the target; its sentinel state is the proof.
target_env=(RESTORE_TARGET=immediate)
expect_id=$(info_get "$info_file" sentinel_id) expect_count=$(info_get "$info_file" sentinel_count)
expect_md5=$(info_get "$info_file" sentinel_md5) target_desc="end of backup ${id}"
if [[ -s "$BACKUP_DIR/incremental.log" ]]; then
  while read -r line; do
    lsn=$(sed -n 's/.* lsn=\([^ ]*\).*/\1/p' <<<"$line")
    # shellcheck disable=SC2015 # continue unless both hold
    [[ -n "$lsn" ]] && (($(lsn_to_dec "$lsn") > end_dec)) || continue
    target_env=(RESTORE_TARGET_LSN="$lsn")
    expect_id=$(sed -n 's/.* sentinel_id=\([^ ]*\).*/\1/p' <<<"$line")
    expect_count=$(sed -n 's/.* sentinel_count=\([^ ]*\).*/\1/p' <<<"$line")
    expect_md5=$(sed -n 's/.* sentinel_md5=\([^ ]*\).*/\1/p' <<<"$line")
    target_desc="incremental run $(sed -n 's/^run_id=\([^ ]*\).*/\1/p' <<<"$line") at ${lsn}"
  done < <(tail -n 200 "$BACKUP_DIR/incremental.log")
fi
say "backup=${id} target=\"${target_desc}\""
info "verifying full backup ${id} restored to ${target_desc}"

mkdir -p "$work"
# The weekly proof reads everything: pg_verifybackup checks every restored file's checksum too
# (RESTORE_VERIFY=full; an on-demand restore checks the archive's SHA-256 and the structure).
env "${target_env[@]}" RESTORE_MODE=pitr RESTORE_BACKUP_ID="$id" RESTORE_PGDATA="$pgdata" \
  RESTORE_SOCKET_DIR="$sock" RESTORE_PORT=5432 RESTORE_KEEP_RUNNING=true RESTORE_ACTION=promote \
  RESTORE_VERIFY="${RESTORE_VERIFY:-full}" bash "$BITPIN_SCRIPTS_DIR/restore.sh"
export PGHOST=$sock PGPORT=5432 PGUSER=${RESTORE_SUPERUSER:-postgres} PGDATABASE=$db
unset PGPASSWORD PGSSLMODE PGSSLROOTCERT PGSSLCERT PGSSLKEY PGSERVICE
say "restore_seconds=$(($(date +%s) - t0))"

# -- sentinel ---------------------------------------------------------------------------------
if [[ "$BACKUP_SENTINEL" != off ]]; then
  [[ "$expect_id" =~ ^[0-9]+$ ]] || die "no sentinel was recorded for ${target_desc}; cannot prove the WAL replays (BACKUP_SENTINEL=off skips this)"
  got=$(q "${SENTINEL_SQL_CHECKSUM} WHERE id <= ${expect_id}") || die "the restored copy has no readable sentinel table"
  say "sentinel expected=\"${expect_count} ${expect_md5}\" restored=\"${got}\""
  [[ "$got" == "${expect_count} ${expect_md5}" ]] ||
    die "sentinel mismatch: the backup recorded ${expect_count} rows (md5 ${expect_md5}) up to id ${expect_id}, the restored copy has ${got}"
  info "sentinel: ${expect_count} rows, checksum ${expect_md5} as recorded"
fi

# -- every table readable; the dump's tables present --------------------------------------------
q "SELECT format('SELECT %L, count(*) FROM %I.%I;', n.nspname || '.' || c.relname, n.nspname, c.relname)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'" |
  psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 | sort >"$work/physical.tsv"
[[ -s "$work/physical.tsv" ]] || die "the restored copy of ${db} has no tables"
sed 's/^/physical_rows /' "$work/physical.tsv" >>"$report"
missing=$(cut -f1 "$backup/counts.tsv" | sort | comm -23 - <(cut -f1 "$work/physical.tsv"))
[[ -z "$missing" ]] || die "tables of the dump missing from the restored copy: ${missing//$'\n'/ }"
info "physical restore: $(wc -l <"$work/physical.tsv") tables readable, $(awk -F'\t' '{ s += $2 } END { print s }' "$work/physical.tsv") rows"

# -- logical ----------------------------------------------------------------------------------
q "CREATE DATABASE bitpin_verify_logical" -d postgres >/dev/null
t1=$(date +%s)
RESTORE_MODE=logical RESTORE_BACKUP_ID="$id" RESTORE_DBNAME=bitpin_verify_logical bash "$BITPIN_SCRIPTS_DIR/restore.sh"
say "logical=ok tables=$(wc -l <"$backup/counts.tsv") logical_restore_seconds=$(($(date +%s) - t1))"
