#!/usr/bin/env bash
# The off-site rows of `nx run backup:bench` (run by bench.sh after its own rows, or alone):
#   - offsite.sh upload of a full backup (encrypted: rclone crypt over s3) vs plain `rclone copy`
#     of the same files to the same store, unencrypted (goal ≤ 1.2 ×);
#   - a point-in-time restore from the off-site copy alone (download of what the target needs,
#     decryption, SHA-256 of every file, replay) vs the same restore from the local volume.
# Against a real SeaweedFS (weed mini, built by nx run backup:build-seaweedfs) on 127.0.0.1 and a
# private PostgreSQL 15 on a Unix socket; writes the "## backup: off-site copy" section of
# docs/benchmarks.md. Settings: BENCH_OFFSITE_SCALE (pgbench scale, default 50 ≈ 750 MB; issue 18's
# restore row is at 200 ≈ 3 GB), BENCH_ROUNDS (default 3 upload rounds and up to 3 restore rounds;
# rounds alternate which side goes first, the best of each counts), BENCH_WORKLOAD_SECONDS (default
# 20, WAL to replay). Scale 200 in one round: BENCH_OFFSITE_SCALE=200 BENCH_ROUNDS=1 (one upload
# round of the three sides, one restore of each). Scale 50 so took 63 s here at load 3; every step
# grows with the data, so at 200 an estimated 4-5 min on a quiet machine and ~12 GB of disk at the
# peak (not run at 200 when this was written).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
BIN=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
export BENCH_OFFSITE_SCALE=${BENCH_OFFSITE_SCALE:-50} BENCH_ROUNDS=${BENCH_ROUNDS:-3} BENCH_WORKLOAD_SECONDS=${BENCH_WORKLOAD_SECONDS:-20}
weed=$(bash "$here/../scripts/dev/build-seaweedfs.sh" --print-bin)
say() { echo "bench offsite: $*" >&2; }

if [[ "${1:-}" != --inner ]]; then
  [[ -x "$weed" ]] || { say "SeaweedFS is not built ($weed): run npx nx run backup:build-seaweedfs"; exit 1; }
  command -v rclone >/dev/null || { say "rclone is missing: run tools/scripts/install-system.sh"; exit 1; }
  root=$(mktemp -d /tmp/bitpin-offsite-bench.XXXXXX)
  chmod 755 "$root"
  ports=$(python3 -c 'import socket
ss=[socket.socket() for _ in range(13)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))')
  read -r pm pmg pv pvg pf pfg ps psg pi pl pa pag pd <<<"$ports"
  mkdir -p "$root/weed"
  export AWS_ACCESS_KEY_ID=bench-access AWS_SECRET_ACCESS_KEY="bench-secret-$RANDOM$RANDOM"
  (cd "$root/weed" && exec "$weed" mini -dir="$root/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port="$pm" -master.port.grpc="$pmg" \
    -volume.port="$pv" -volume.port.grpc="$pvg" -filer.port="$pf" -filer.port.grpc="$pfg" -s3.port="$ps" -s3.port.grpc="$psg" \
    -s3.port.iceberg="$pi" -s3.port.lance="$pl" -admin.port="$pa" -admin.port.grpc="$pag" -debug.port="$pd" -webdav=false -admin.ui=false \
    -master.telemetry=false >"$root/weed.log" 2>&1) &
  weed_pid=$!
  trap 'kill "$weed_pid" 2>/dev/null; wait "$weed_pid" 2>/dev/null; rm -rf "$root"' EXIT
  for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$ps/" && break; sleep 0.3; done
  inner=(bash "$here/offsite.sh" --inner "$root" "http://127.0.0.1:$ps")
  envs=(PATH="$BIN:$PATH" PG_BINDIR="$BIN" BENCH_OFFSITE_SCALE="$BENCH_OFFSITE_SCALE" BENCH_ROUNDS="$BENCH_ROUNDS"
    BENCH_WORKLOAD_SECONDS="$BENCH_WORKLOAD_SECONDS" AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY")
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$root"
    runuser -u postgres -- env "${envs[@]}" "${inner[@]}"
  else
    env "${envs[@]}" "${inner[@]}"
  fi
  doc="$repo/docs/benchmarks.md"
  [[ -f "$doc" ]] || printf '# Benchmarks\n' >"$doc"
  python3 - "$doc" "$root/results.md" <<'PY'
import re, sys
doc, res = sys.argv[1], sys.argv[2]
text, section = open(doc).read(), open(res).read().rstrip() + "\n"
m = re.search(r"^## backup: off-site copy\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
if m:
    text = text[: m.start()] + section + ("\n" if m.end() < len(text) else "") + text[m.end():]
else:
    b = re.search(r"^## backup\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    at = b.end() if b else len(text)
    text = text[:at].rstrip() + "\n\n" + section + ("\n" + text[at:] if at < len(text) else "")
open(doc, "w").write(text)
PY
  cat "$root/results.md"
  say "wrote the '## backup: off-site copy' section of docs/benchmarks.md"
  exit 0
fi

# ---- inner: runs as the server's user ------------------------------------------------------
root=$2 endpoint=$3
unset AWS_CA_BUNDLE # rclone 1.60's s3 client refuses it (lib-offsite.sh)
scripts="$here/../scripts"
sock="$root/sock" data="$root/data"
mkdir -p "$sock"
export PGHOST=$sock PGPORT=5432 PGUSER=postgres PGDATABASE=app
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
min() { printf '%s\n' "$@" | sort -g | head -n 1; }
med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

initdb -D "$data" -U postgres --auth=trust --data-checksums -E UTF8 >/dev/null
cat >>"$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$sock'
port = 5432
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
shared_buffers = '256MB'
max_wal_size = '4GB'
log_min_messages = warning
CONF
pg_ctl -D "$data" -l "$root/server.log" -w start >/dev/null
trap 'pg_ctl -D "$data" -m immediate stop >/dev/null 2>&1 || true' EXIT
createdb app
t=$(now)
pgbench -i -s "$BENCH_OFFSITE_SCALE" -q app 2>/dev/null
init_s=$(secs "$t" "$(now)")
say "pgbench -i -s $BENCH_OFFSITE_SCALE: ${init_s}s"
db_bytes=$(psql -Atc "SELECT pg_database_size('app')")
export BACKUP_DIR="$root/backup" BACKUP_SCRATCH_DIR="$root/scratch" BACKUP_KEEP_FULL=10 BACKUP_RETENTION_DAYS=10
mkdir -p "$BACKUP_DIR"
bash "$scripts/full-backup.sh" 2>"$root/full.log"
bash "$scripts/incremental-backup.sh" 2>/dev/null
pgbench -T "$BENCH_WORKLOAD_SECONDS" -c 2 -j 1 app >/dev/null 2>&1
bash "$scripts/incremental-backup.sh" 2>/dev/null
sleep 1.1
target=$(psql -Atc "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
sleep 1.1
psql -qc "CREATE TABLE after_target AS SELECT 1 AS x"
bash "$scripts/incremental-backup.sh" 2>/dev/null
id=$(find "$BACKUP_DIR/full" -mindepth 1 -maxdepth 1 -name '2*' -printf '%f\n' | sort | tail -n 1)
full_bytes=$(du -sb "$BACKUP_DIR/full/$id" | cut -f1)
wal_bytes=$(du -sb "$BACKUP_DIR/wal" | cut -f1)
say "database $(mb "$db_bytes") MB; full backup $id $(mb "$full_bytes") MB; WAL archive $(mb "$wal_bytes") MB"

export BACKUP_OFFSITE_ENDPOINT=$endpoint BACKUP_OFFSITE_BUCKET=bench BACKUP_OFFSITE_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID \
  BACKUP_OFFSITE_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY BACKUP_OFFSITE_PASSWORD=bench-pass BACKUP_OFFSITE_SALT=bench-salt
# The plain anchor: the same store and options, no encryption, the full backup's files only.
export RCLONE_CONFIG='' RCLONE_CONFIG_PLAIN_TYPE=s3 RCLONE_CONFIG_PLAIN_PROVIDER=Other RCLONE_CONFIG_PLAIN_ENDPOINT=$endpoint \
  RCLONE_CONFIG_PLAIN_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_PLAIN_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
  RCLONE_CONFIG_PLAIN_FORCE_PATH_STYLE=true RCLONE_CONFIG_PLAIN_REGION=us-east-1
# Only the full backup goes up in the timed upload rounds (the WAL goes up once, untimed, below).
mv "$BACKUP_DIR/wal" "$root/wal.aside"
mkdir -p "$BACKUP_DIR/wal"
# The encryption alone: one rclone copy of the same files through a crypt remote (what offsite.sh
# adds on top: the listing, the ordered backup.info, the checksum list, retention, its checks).
RCLONE_CONFIG_CRYPTB_PASSWORD=$(printf bench-pass | rclone obscure -)
export RCLONE_CONFIG_CRYPTB_TYPE=crypt RCLONE_CONFIG_CRYPTB_REMOTE=plain:bench/crypt RCLONE_CONFIG_CRYPTB_PASSWORD
o_up=() p_up=() c_up=()
ours_up() { BACKUP_OFFSITE_PREFIX="up$r" bash "$scripts/offsite.sh" upload 2>"$root/up-$r.log"; }
plain_up() { rclone copy --transfers 4 --checkers 8 "$BACKUP_DIR/full/$id" "plain:bench/plain$r/full/$id"; }
crypt_up() { rclone copy --transfers 4 --checkers 8 "$BACKUP_DIR/full/$id" "cryptb:$r/full/$id"; }
for ((r = 1; r <= BENCH_ROUNDS; r++)); do
  for side in $( ((r % 2)) && echo "plain crypt ours" || echo "ours crypt plain"); do
    t=$(now)
    "${side}_up"
    s=$(secs "$t" "$(now)")
    case $side in ours) o_up+=("$s") ;; plain) p_up+=("$s") ;; crypt) c_up+=("$s") ;; esac
  done
  say "round $r upload of the full backup: offsite.sh ${o_up[-1]}s, rclone copy through crypt ${c_up[-1]}s, plain rclone copy ${p_up[-1]}s"
done
rm -rf "$BACKUP_DIR/wal"
mv "$root/wal.aside" "$BACKUP_DIR/wal"
BACKUP_OFFSITE_PREFIX=restore bash "$scripts/offsite.sh" upload 2>"$root/up-restore.log"

o_rs=() l_rs=()
local_pitr() {
  rm -rf "$root/r-local" "$root/rs-local"
  RESTORE_SOURCE=local RESTORE_PGDATA="$root/r-local" RESTORE_TARGET_TIME="$target" RESTORE_SOCKET_DIR="$root/rs-local" bash "$scripts/restore.sh" 2>"$root/restore-local.log"
}
offsite_pitr() {
  rm -rf "$root/r-off" "$root/rs-off"
  BACKUP_DIR="$root/nothing" BACKUP_OFFSITE_PREFIX=restore RESTORE_SOURCE=offsite RESTORE_PGDATA="$root/r-off" RESTORE_TARGET_TIME="$target" \
    RESTORE_SOCKET_DIR="$root/rs-off" RESTORE_PORT=54330 bash "$scripts/restore.sh" 2>"$root/restore-off.log"
}
rounds=$((BENCH_ROUNDS < 3 ? BENCH_ROUNDS : 3))
for ((r = 1; r <= rounds; r++)); do
  for side in $( ((r % 2)) && echo "local offsite" || echo "offsite local"); do
    t=$(now)
    "${side}_pitr" || { tail -n 20 "$root/restore-$([[ $side == local ]] && echo local || echo off).log" >&2; exit 1; }
    s=$(secs "$t" "$(now)")
    if [[ $side == offsite ]]; then o_rs+=("$s"); else l_rs+=("$s"); fi
  done
  say "round $r PITR restore: from the off-site copy ${o_rs[-1]}s, from the volume ${l_rs[-1]}s"
done
fetched=$(sed -n 's/.*fetched full backup \S* and \([0-9]*\) WAL file(s) (\([^)]*\)).*/\1 WAL files, \2/p' "$root/restore-off.log" | tail -n 1)
fetch_s=$(sed -n 's/.*from the off-site copy into .* in \([0-9]*\)s; checksums verified.*/\1/p' "$root/restore-off.log" | tail -n 1)
bo=$(min "${o_up[@]}") bp=$(min "${p_up[@]}") bc=$(min "${c_up[@]}") ro=$(min "${o_rs[@]}") rl=$(min "${l_rs[@]}")
cat >"$root/results.md" <<MD
## backup: off-site copy

Command: \`npx nx run backup:bench\` (its off-site part alone: \`bash libs/backup/bench/offsite.sh\`;
\`BENCH_OFFSITE_SCALE\`, \`BENCH_ROUNDS\`). Store: SeaweedFS \`weed mini\` (built from its Go module) on
127.0.0.1, rclone $(rclone version | head -n 1 | awk '{print $2}') (Debian). Anchor for the upload: plain \`rclone copy\` of the same
full backup's files to the same store, unencrypted, same transfers (4); goal ≤ 1.2 ×. Anchor for the
restore: the same point-in-time restore from the local volume (stated, no goal).

Run: $(date -u +%Y-%m-%d), pgbench scale ${BENCH_OFFSITE_SCALE} (database $(mb "$db_bytes") MB$( ((BENCH_OFFSITE_SCALE >= 200)) || echo "; issue 18 asks for the restore at scale 200: \`BENCH_OFFSITE_SCALE=200 BENCH_ROUNDS=1\`"), pgbench -i ${init_s} s), full backup $(mb "$full_bytes") MB, WAL archive $(mb "$wal_bytes") MB (${BENCH_WORKLOAD_SECONDS} s of pgbench),
best of ${BENCH_ROUNDS} upload rounds and ${rounds} restore rounds (alternating which side goes first); $(nproc) cores,
load average at the end $(cut -d' ' -f1-3 /proc/loadavg) (this bench's own work included).

| step | ours s | anchor s | × anchor |
|---|---|---|---|
| off-site upload of a full backup (offsite.sh: list, encrypt, upload, checksum list, retention) vs plain rclone copy | ${bo} | ${bp} | $(ratio "$bo" "$bp") |
| the encryption alone: one rclone copy of the same files through the crypt remote vs plain rclone copy | ${bc} | ${bp} | $(ratio "$bc" "$bp") |
| PITR restore from the off-site copy alone (fetch ${fetched:-?} in ${fetch_s:-?} s, decrypt, SHA-256 of every file, replay) vs from the volume | ${ro} | ${rl} | $(ratio "$ro" "$rl") |

$(awk -v u="$(ratio "$bo" "$bp")" -v m="$(ratio "$(med "${o_up[@]}")" "$(med "${p_up[@]}")")" 'BEGIN {
  print "Upload goal (≤ 1.2 ×): best rounds " u " ×, " (u > 1.2 ? "**not met**" : "met") "; medians " m " ×, " (m > 1.2 ? "**not met**" : "met") "." }')
Medians (s): upload ours $(med "${o_up[@]}"), through crypt $(med "${c_up[@]}") ($(ratio "$(med "${c_up[@]}")" "$(med "${p_up[@]}")") ×), plain $(med "${p_up[@]}"); restore off-site $(med "${o_rs[@]}"), local $(med "${l_rs[@]}") ($(ratio "$(med "${o_rs[@]}")" "$(med "${l_rs[@]}")") ×).
One round of our upload took $(min "${o_up[@]}") to $(printf '%s\n' "${o_up[@]}" | sort -g | tail -n 1) s in this run. Its fixed cost is rclone's start-up, five
times where the plain copy has one: two key obscurings (run at once), the listing, the data copy and
the catalogue copy (backup.info, incremental.log, wal/SHA256SUMS, after the data); on a
$(mb "$full_bytes") MB backup it weighs more than it would on a production-sized one.
All rounds (s): upload ours ${o_up[*]}, crypt copy ${c_up[*]}, plain ${p_up[*]}; restore off-site ${o_rs[*]}, local ${l_rs[*]}.
MD
