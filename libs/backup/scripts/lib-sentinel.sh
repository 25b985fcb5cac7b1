# shellcheck shell=bash
# Part of lib.sh, sourced by it (never on its own).

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
