#!/usr/bin/env bash
# Restore from the backup volume. Two modes:
#
# RESTORE_MODE=pitr (default): base backup + WAL replay into a fresh data directory.
#   RESTORE_PGDATA        the new data directory (must not exist, or be empty)           required
#   RESTORE_TARGET_TIME   replay up to this time (ISO 8601; commits after it are not restored)
#   RESTORE_TARGET_LSN    or up to this LSN
#   RESTORE_TARGET        latest (default: to the end of the archive) | immediate (backup end only)
#   RESTORE_BACKUP_ID     use this full backup  (default: the newest that ended before the target)
#   RESTORE_ACTION        promote (default) | pause | shutdown, once the target is reached
#   RESTORE_START         true (default): start a private instance, wait for the target, check it
#   RESTORE_KEEP_RUNNING  true: leave that instance running (e.g. to clone it), default false
#   RESTORE_LISTEN        listen_addresses of that instance (default '': Unix socket only)
#   RESTORE_PORT          its port (default 54329); RESTORE_SOCKET_DIR its socket directory
#   RESTORE_EXPORT_DUMP   write a pg_dump -Fc of $PGDATABASE at the target to this path
#   RESTORE_TIMEOUT       seconds to wait for recovery (default 3600)
#   RESTORE_VERIFY        structure (default) | full: how pg_verifybackup checks the extracted copy
#   RESTORE_WAL_PREFETCH  WAL segments wal-restore.sh prepares ahead of replay (default 2; 0: off)
#   RESTORE_SOURCE        auto (default): the volume when it holds a good full backup, else the
#                         off-site copy (when BACKUP_OFFSITE_BUCKET is set) | local | offsite
#   RESTORE_FETCH_DIR     where an off-site restore downloads to (default: a new directory under
#                         BACKUP_SCRATCH_DIR; removed when the restore ends, kept with RESTORE_START=false)
#   RESTORE_KEEP_FAILED   true: a restore that fails after replay started keeps its data directory
#                         (unusable: half replayed) for inspection; default false: it is removed
#   Off-site (offsite.sh fetch): only the backup the target needs and its WAL up to the target are
#   downloaded, decrypted (a changed byte fails the decryption) and checked against their SHA-256
#   (check.sh, every WAL segment included) before anything is replayed.
#   The base archive is read once: its SHA-256 is taken while it is extracted and must match
#   SHA256SUMS (else the data directory is removed and the restore fails). That archive is bit for
#   bit the one pg_verifybackup checked file by file when the backup was taken, so the extracted
#   copy gets the structural check (pg_verifybackup --skip-checksums: every file with its size,
#   nothing extra, the manifest's checksum, the WAL to consistency parsed); full re-reads every
#   file for its CRC32C too. Each WAL segment's checksum is checked by wal-restore.sh before replay.
#
# RESTORE_MODE=logical: pg_restore of a full backup's dump into the server the libpq variables
#   point at (PGHOST...), database RESTORE_DBNAME (default $PGDATABASE), replacing its objects
#   (--clean --if-exists) in one transaction that also compares every table's row count with the
#   counts taken in the dump's snapshot: a mismatch rolls everything back. RESTORE_ROLE: SET ROLE
#   before restoring. RESTORE_DUMP: restore this dump file instead (e.g. one a PITR restore
#   exported; no counts).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BACKUP_SCRATCH_DIR=${BACKUP_SCRATCH_DIR:-/tmp}

mode=${RESTORE_MODE:-pitr}
[[ "$mode" == pitr || "$mode" == logical ]] || die "RESTORE_MODE must be pitr or logical, got \"${mode}\""

# ---- where from: the volume, or the off-site copy alone ------------------------------------
source=${RESTORE_SOURCE:-auto}
[[ "$source" =~ ^(auto|local|offsite)$ ]] || die "RESTORE_SOURCE must be auto, local or offsite, got \"${source}\""
# Loading a given dump (e.g. the export a PITR restore just wrote) needs no backup at all.
[[ "$mode" != logical || -z "${RESTORE_DUMP:-}" ]] || source=dump
if [[ "$source" == auto ]]; then
  source=local
  if [[ -z "$BACKUP_DIR" || -z "$(BACKUP_DIR=${BACKUP_DIR:-/nonexistent} good_backups 2>/dev/null)" ]] && [[ -n "${BACKUP_OFFSITE_BUCKET:-}" ]]; then
    source=offsite
    info "no good full backup in ${BACKUP_DIR:-<BACKUP_DIR unset>}/full: restoring from the off-site copy"
  fi
fi
# One EXIT handler for every phase (set below): it stops the private instance, removes a data
# directory that cannot be used (a failure while extracting, or after replay started: a half
# replayed directory must never be started by mistake) and the off-site download.
fetched="" keep_fetched=false phase="" pgdata="" made_pgdata=false instance=false id="" logf=""
discard_pgdata() {
  if [[ "$made_pgdata" == true ]]; then rm -rf -- "$pgdata"; else find "$pgdata" -mindepth 1 -delete 2>/dev/null || true; fi
}
stop_instance() { pg_ctl -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true; }
on_exit() {
  local rc=$?
  if [[ "$instance" == true && ($rc -ne 0 || "${RESTORE_KEEP_RUNNING:-false}" != true) ]]; then stop_instance; fi
  if [[ $rc -ne 0 ]]; then
    case "$phase" in
      extract)
        discard_pgdata
        log "ERROR restore of ${id} failed (exit ${rc}); ${pgdata} removed"
        ;;
      replay)
        if [[ "${RESTORE_KEEP_FAILED:-false}" == true ]]; then
          log "ERROR restore of ${id} failed after replay started (exit ${rc}); ${pgdata} is kept (RESTORE_KEEP_FAILED=true) and is UNUSABLE (half replayed): inspect it, then delete it; server log ${logf}"
        else
          discard_pgdata
          log "ERROR restore of ${id} failed after replay started (exit ${rc}); its data directory ${pgdata} (half replayed, unusable) was removed; server log ${logf}"
        fi
        ;;
    esac
  fi
  [[ -z "$fetched" || "$keep_fetched" == true ]] || rm -rf -- "$fetched"
}
trap on_exit EXIT
if [[ "$source" == offsite ]]; then
  fetched=${RESTORE_FETCH_DIR:-}
  if [[ -z "$fetched" ]]; then
    mkdir -p "$BACKUP_SCRATCH_DIR"
    fetched=$(mktemp -d "$BACKUP_SCRATCH_DIR/offsite-fetch.XXXXXX")
  fi
  # The download is removed when the restore ends (also when it fails); a data directory that
  # still needs it (RESTORE_START=false) keeps it.
  bash "$BITPIN_SCRIPTS_DIR/offsite.sh" fetch "$fetched"
  BACKUP_DIR=$fetched
fi
[[ "$source" == dump || (-n "$BACKUP_DIR" && -d "$BACKUP_DIR/full") ]] || die "BACKUP_DIR must point at a backup volume (no ${BACKUP_DIR:-<unset>}/full); to restore from the off-site copy set BACKUP_OFFSITE_* (RESTORE_SOURCE=offsite)"

# ---- which backup ---------------------------------------------------------------------------
# Times at microsecond precision, like PostgreSQL's (lib-target.sh).
parse_target
[[ "$mode" == pitr || "$target_kind" == latest ]] || die "a logical restore has no target; unset RESTORE_TARGET_TIME/LSN or use RESTORE_MODE=pitr"

if [[ "$source" == dump ]]; then
  id=dump info_file=/dev/null backup=""
  info "restoring ${RESTORE_DUMP}, mode logical"
else
  select_backup
  id=${backup##*/}
  info_file="$backup/backup.info"
  check_target_archived "$(newest_archive_log)"
  info "restoring full backup ${id} (ended $(info_get "$info_file" end_time)), mode ${mode}, target ${target_kind} ${target_value}"
fi

# ---- logical --------------------------------------------------------------------------------
# counts_sql counts.tsv: a DO block that compares every table's row count with the file's and
# raises (listing each difference) on any mismatch or missing table.
counts_sql() {
  local table want values=""
  while IFS=$'\t' read -r table want; do
    [[ "$want" =~ ^[0-9]+$ ]] || die "${1}: bad row count \"${want}\" for ${table}"
    values+="${values:+,}('${table//\'/\'\'}', ${want}::bigint)"
  done <"$1"
  [[ -n "$values" ]] || return 0
  cat <<SQL
DO \$bitpin_counts\$
DECLARE
  r record;
  got bigint;
  bad text := '';
BEGIN
  FOR r IN SELECT * FROM (VALUES ${values}) AS v(t, want) LOOP
    BEGIN
      EXECUTE format('SELECT count(*) FROM %I.%I', split_part(r.t, '.', 1), split_part(r.t, '.', 2)) INTO got;
    EXCEPTION WHEN undefined_table OR invalid_schema_name THEN
      got := NULL;
    END;
    IF got IS DISTINCT FROM r.want THEN
      bad := bad || format(E'\n  %s: %s, the backup has %s', r.t, coalesce(got::text, 'missing'), r.want);
    END IF;
  END LOOP;
  IF bad <> '' THEN
    RAISE EXCEPTION 'row counts differ from the counts taken with the dump:%', bad;
  END IF;
END
\$bitpin_counts\$;
SQL
}

# compare_counts counts.tsv: the same check as its own statement, after the restore committed.
compare_counts() {
  local sql
  sql=$(counts_sql "$1")
  [[ -z "$sql" ]] || psql -X -q -v ON_ERROR_STOP=1 --no-password -d "$db" <<<"$sql" ||
    die "the restored database ${db} differs from the counts taken with the dump (it was committed; restore again)"
}

if [[ "$mode" == logical ]]; then
  dump="$backup/$(info_get "$info_file" dump)"
  counts=""
  if [[ -n "${RESTORE_DUMP:-}" ]]; then
    [[ -s "$RESTORE_DUMP" ]] || die "RESTORE_DUMP ${RESTORE_DUMP} does not exist or is empty"
    dump=$RESTORE_DUMP
  else
    # The dump and its counts are hashed; the base archive is not used here.
    bash "$BITPIN_SCRIPTS_DIR/check.sh" --backup "$id" --no-wal --skip-sum "$(info_get "$info_file" base)"
    counts="$backup/counts.tsv"
  fi
  toc=$(pg_restore --list "$dump") || die "${dump} is not a readable pg_dump archive"
  db=${RESTORE_DBNAME:-$PGDATABASE}
  role_opt=()
  [[ -z "${RESTORE_ROLE:-}" ]] || role_opt=(--role="$RESTORE_ROLE")
  t0=$(date +%s)
  if grep -qE '^[0-9]+; [0-9]+ [0-9]+ (BLOB|BLOBS|BLOB METADATA|LARGE OBJECT|LARGE OBJECTS) ' <<<"$toc"; then
    # pg_restore's script wraps large objects in a transaction of their own, so a dump that has
    # them is restored by pg_restore itself (one transaction) and counted after the commit.
    pg_restore --dbname="$db" --clean --if-exists --no-owner --no-privileges --single-transaction \
      --exit-on-error --no-password "${role_opt[@]}" "$dump" || die "pg_restore of ${dump} into ${db} failed; nothing changed"
    info "pg_restore of ${dump} into ${PGHOST:-local}/${db} took $(($(date +%s) - t0))s (large objects: one pg_restore transaction)"
    if [[ -n "$counts" ]]; then
      compare_counts "$counts"
      info "row counts match the dump's snapshot for $(wc -l <"$counts") table(s)"
    fi
    exit 0
  fi
  # One transaction: BEGIN, pg_restore's script, the row counts compared inside the transaction
  # (they see exactly what would commit; reading them there also costs no hint-bit writes), COMMIT.
  # COMMIT is sent only after pg_restore wrote its whole script and the counts matched; on any error
  # psql stops (ON_ERROR_STOP) and the server rolls everything back: nothing changes.
  check=""
  [[ -z "$counts" ]] || check=$(counts_sql "$counts")
  {
    printf 'BEGIN;\n'
    pg_restore --file=- --clean --if-exists --no-owner --no-privileges "${role_opt[@]}" "$dump" || exit 1
    printf '%s\nCOMMIT;\n' "$check"
  } | PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 --no-password -d "$db" >/dev/null ||
    die "pg_restore of ${dump} into ${db} failed; rolled back, nothing changed"
  info "pg_restore of ${dump} into ${PGHOST:-local}/${db} took $(($(date +%s) - t0))s (one transaction)"
  [[ -z "$counts" ]] || info "row counts match the dump's snapshot for $(wc -l <"$counts") table(s) (checked inside the restore's transaction)"
  exit 0
fi

# ---- point in time --------------------------------------------------------------------------
pgdata=${RESTORE_PGDATA:-}
[[ -n "$pgdata" ]] || die "RESTORE_PGDATA is not set; give the directory to restore into"
if [[ -e "$pgdata" && -n "$(ls -A "$pgdata")" ]]; then die "RESTORE_PGDATA ${pgdata} is not empty; restore into a fresh directory"; fi
action=${RESTORE_ACTION:-promote}
[[ "$action" =~ ^(promote|pause|shutdown)$ ]] || die "RESTORE_ACTION must be promote, pause or shutdown, got \"${action}\""
prefetch=${RESTORE_WAL_PREFETCH:-2}
require_number RESTORE_WAL_PREFETCH "$prefetch"
verify=${RESTORE_VERIFY:-structure}
[[ "$verify" == structure || "$verify" == full ]] || die "RESTORE_VERIFY must be structure or full, got \"${verify}\""
base_name=$(info_get "$info_file" base)
base="$backup/${base_name}"
wal_tar=$(info_get "$info_file" wal) # older layouts: WAL in its own tar
# What this restore reads is checked as it is read: the base archive's SHA-256 while it is
# extracted (below), each WAL segment's by wal-restore.sh before the server gets it. Up front:
# every file of the backup present, the small ones' checksums, the WAL archive without a gap.
check_opt=(--skip-sum "$base_name" --no-wal-sums)
dump_name=$(info_get "$info_file" dump) # not used by a point-in-time restore
[[ -z "$dump_name" ]] || check_opt+=(--skip-sum "$dump_name")
# A gap in the WAL archive after what the target needs does not stop the restore (lib-wal.sh).
upto=$(wal_gap_plan "$info_file" "$target_kind" "$target_value" "${target_us:-}") || exit 1
[[ -z "$upto" ]] || check_opt+=(--upto-segno "$upto")
bash "$BITPIN_SCRIPTS_DIR/check.sh" --backup "$id" "${check_opt[@]}"

t0=$(date +%s)
[[ -e "$pgdata" ]] && made_pgdata=false || made_pgdata=true
# Until the copy is verified a failure leaves no data directory that could be started.
phase=extract
mkdir -p "$pgdata/pg_wal"
chmod 0700 "$pgdata"
# One read of the archive: its SHA-256 is taken while it is unpacked and extracted.
want_sum=$(awk -v n="$base_name" '$2 == n { print $1 }' "$backup/SHA256SUMS" | tail -n 1)
[[ "$want_sum" =~ ^[0-9a-f]{64}$ ]] || die "SHA256SUMS of ${id} has no checksum for ${base_name}"
sum_file=$(mktemp "${TMPDIR:-/tmp}/bitpin-restore-sum.XXXXXX")
case "$base_name" in
  *.gz) method=gzip ;; *.lz4) method=lz4 ;; *.zst) method=zstd ;; *) method=none ;;
esac
unpack_extract "$method" "" "$sum_file" "$pgdata" <"$base" || die "cannot extract ${base} (damaged archive?)"
got_sum=$(cut -c1-64 "$sum_file")
rm -f "$sum_file"
[[ "$got_sum" == "$want_sum" ]] ||
  die "full backup ${id}: ${base_name} is corrupted (SHA-256 ${got_sum:-none}, SHA256SUMS has ${want_sum}); nothing restored"
[[ -z "$wal_tar" ]] || unpack "$backup/$wal_tar" | untar "$pgdata/pg_wal"
chmod 0700 "$pgdata" # PostgreSQL refuses a group/world-readable data directory
# The archive is bit for bit the one pg_verifybackup checked file by file (CRC32C) when the backup
# was taken, so by default the extracted copy gets the structural check only: every file of the
# manifest present with its size, nothing extra, the manifest's own checksum, and the WAL from the
# backup's start to its end parsed. RESTORE_VERIFY=full re-reads every file for its checksum too.
verify_opt=(--skip-checksums)
[[ "$verify" != full ]] || verify_opt=()
pg_verifybackup --quiet "${verify_opt[@]}" -m "$backup/backup_manifest" "$pgdata" ||
  die "pg_verifybackup rejected the restored copy of ${id}"
seg_bytes=$(pg_controldata "$pgdata" | sed -n 's/^Bytes per WAL segment: *//p')
[[ "$seg_bytes" =~ ^[0-9]+$ ]] || die "cannot read the WAL segment size of the restored data directory"
phase=ready
info "extracted and verified ${id} into ${pgdata} in $(($(date +%s) - t0))s (SHA-256 of ${base_name} as recorded; pg_verifybackup: $([[ "$verify" == full ]] && echo 'every file checksummed' || echo 'structure and WAL, file checksums covered by the archive SHA-256'))"

{
  echo "# --- bitpin restore of full backup ${id} (restore.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ)) ---"
  echo "restore_command = 'bash \"${BITPIN_SCRIPTS_DIR}/wal-restore.sh\" \"${BACKUP_DIR}/wal\" \"%f\" \"%p\" ${seg_bytes} ${prefetch}'"
  echo "recovery_target_timeline = 'latest'"
  case "$target_kind" in
    time) echo "recovery_target_time = '${target_value}'" ;;
    lsn) echo "recovery_target_lsn = '${target_value}'" ;;
    immediate) echo "recovery_target = 'immediate'" ;;
  esac
  echo "recovery_target_action = '${action}'"
  echo "archive_mode = 'off'"
} >>"$pgdata/postgresql.auto.conf"
touch "$pgdata/recovery.signal"

if [[ "${RESTORE_START:-true}" != true ]]; then
  keep_fetched=true
  info "data directory ${pgdata} is ready; start PostgreSQL on it to replay WAL to the target${fetched:+ (its WAL: ${fetched}/wal, fetched from the off-site copy; delete ${fetched} once recovery has ended)}"
  exit 0
fi

# ---- replay in a private instance -----------------------------------------------------------
port=${RESTORE_PORT:-54329}
sock=${RESTORE_SOCKET_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/bitpin-restore.XXXXXX")}
mkdir -p "$sock"
chmod 0700 "$sock"
printf 'local all all trust\n' >"$sock/hba.conf"
: >"$sock/ident.conf"
logf="$sock/postgres.log"
require_number RESTORE_TIMEOUT "${RESTORE_TIMEOUT:-3600}"
opts="-c port=${port} -c listen_addresses='${RESTORE_LISTEN:-}' -c unix_socket_directories='${sock}'"
opts+=" -c hba_file='${sock}/hba.conf' -c ident_file='${sock}/ident.conf' -c ssl=off -c archive_mode=off"
opts+=" -c logging_collector=off -c log_destination=stderr -c shared_buffers=${RESTORE_SHARED_BUFFERS:-128MB}"
opts+=" -c shared_preload_libraries='' -c cluster_name=bitpin-restore"
export PGHOST=$sock PGPORT=$port PGUSER=${RESTORE_SUPERUSER:-postgres}
unset PGPASSWORD PGSSLMODE PGSSLROOTCERT PGSSLCERT PGSSLKEY PGSERVICE
# From here a failure leaves a half replayed data directory: on_exit removes it.
phase=replay instance=true
# -W: recovery may take far longer than pg_ctl's wait; the loop below watches it.
if ! pg_ctl -D "$pgdata" -l "$logf" -o "$opts" -W start >/dev/null; then
  tail -n 25 "$logf" >&2 || true
  die "PostgreSQL did not start on the restored data directory (log above, ${logf})"
fi
for _ in $(seq 1 100); do [[ ! -f "$pgdata/postmaster.pid" ]] || break; sleep 0.1; done

deadline=$(($(date +%s) + ${RESTORE_TIMEOUT:-3600}))
state=""
while :; do
  if ! pg_ctl -D "$pgdata" status >/dev/null 2>&1; then
    if [[ "$action" == shutdown ]] && grep -q 'recovery stopping' "$logf"; then
      state=shutdown
      break
    fi
    tail -n 25 "$logf" >&2 || true
    die "PostgreSQL stopped during recovery of ${id} (log above, ${logf})"
  fi
  if pg_isready -q -d postgres 2>/dev/null; then
    case "$action" in
      promote) [[ "$(q "SELECT pg_is_in_recovery()" -d postgres 2>/dev/null)" != f ]] || state=promoted ;;
      pause) [[ "$(q "SELECT pg_get_wal_replay_pause_state()" -d postgres 2>/dev/null)" != paused ]] || state=paused ;;
    esac
  fi
  [[ -z "$state" ]] || break
  (($(date +%s) < deadline)) || die "recovery of ${id} did not reach its target within ${RESTORE_TIMEOUT:-3600}s (log: ${logf})"
  sleep 0.2
done
grep -E 'recovery stopping|consistent recovery state|last completed transaction|redo done|selected new timeline' "$logf" | sed 's/^/  postgres: /' >&2 || true
# Segments wal-restore.sh prepared ahead that recovery did not need (its last helpers end within
# moments of the last request).
rm -rf -- "$pgdata/pg_wal/bitpin-prefetch" 2>/dev/null || { sleep 0.5 && rm -rf -- "$pgdata/pg_wal/bitpin-prefetch"; } || true
info "recovery of ${id} finished (${state}) in $(($(date +%s) - t0))s"
phase=finished
# A paused instance left running may still be told to replay further: it keeps its WAL.
[[ "${RESTORE_KEEP_RUNNING:-false}" != true || "$state" != paused ]] || keep_fetched=true

if [[ "$state" != shutdown ]]; then
  if [[ -n "${RESTORE_EXPORT_DUMP:-}" ]]; then
    mkdir -p "$(dirname "$RESTORE_EXPORT_DUMP")"
    pg_dump -F custom --exclude-schema="$BACKUP_SENTINEL_SCHEMA" -d "$(info_get "$info_file" database)" -f "$RESTORE_EXPORT_DUMP"
    info "exported $(info_get "$info_file" database) at the target to ${RESTORE_EXPORT_DUMP}"
  fi
fi
if [[ "${RESTORE_KEEP_RUNNING:-false}" == true ]]; then
  info "restored instance left running: host=${sock} port=${port} (stop: pg_ctl -D ${pgdata} stop)"
else
  stop_instance
  instance=false
  info "restored data directory ${pgdata} is consistent at the target; instance stopped"
fi
