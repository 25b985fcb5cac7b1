#!/usr/bin/env bash
# nx run backup:bench — backup and restore throughput of libs/backup's scripts against the plain
# PostgreSQL tools on the same pgbench database, in the same run; writes the "## backup" section of
# docs/benchmarks.md. Settings: BENCH_SCALE (pgbench scale, default 200 ≈ 3 GB), BENCH_ROUNDS
# (default 3 for the full backup, up to 3 for the incremental run and the restores; rounds
# alternate which side goes first and the best round of each side counts), BENCH_WORKLOAD_SECONDS
# (default 30, per incremental round). Then the off-site rows: bench/offsite.sh (BENCH_OFFSITE=false skips).
# Runs a private PostgreSQL 15 on a Unix socket in a temp dir (as `postgres` when started as root).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
BIN=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
export BENCH_SCALE=${BENCH_SCALE:-200} BENCH_ROUNDS=${BENCH_ROUNDS:-3} BENCH_WORKLOAD_SECONDS=${BENCH_WORKLOAD_SECONDS:-30}

if [[ "${1:-}" != --inner ]]; then
  root=$(mktemp -d /tmp/bitpin-backup-bench.XXXXXX)
  chmod 755 "$root"
  trap 'rm -rf "$root"' EXIT
  inner=(bash "$here/bench.sh" --inner "$root")
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$root"
    runuser -u postgres -- env PATH="$BIN:$PATH" BENCH_SCALE="$BENCH_SCALE" BENCH_ROUNDS="$BENCH_ROUNDS" \
      BENCH_WORKLOAD_SECONDS="$BENCH_WORKLOAD_SECONDS" PG_BINDIR="$BIN" "${inner[@]}"
  else
    PATH="$BIN:$PATH" PG_BINDIR="$BIN" "${inner[@]}"
  fi
  # Replace (or append) this project's section of docs/benchmarks.md; other sections stay as they are.
  doc="$repo/docs/benchmarks.md"
  [[ -f "$doc" ]] || printf '# Benchmarks\n' >"$doc"
  python3 - "$doc" "$root/results.md" <<'PY'
import re, sys
doc, res = sys.argv[1], sys.argv[2]
text, section = open(doc).read(), open(res).read().rstrip() + "\n"
m = re.search(r"^## backup\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
if m:
    text = text[: m.start()] + section + ("\n" if m.end() < len(text) else "") + text[m.end():]
else:
    text = text.rstrip() + "\n\n" + section
open(doc, "w").write(text)
PY
  cat "$root/results.md"
  echo "bench: wrote the '## backup' section of docs/benchmarks.md"
  # The off-site rows (SeaweedFS + rclone): their own section; BENCH_OFFSITE=false skips them.
  if [[ "${BENCH_OFFSITE:-true}" == true ]]; then bash "$here/offsite.sh"; fi
  exit 0
fi

# ---- inner: runs as the server's user ------------------------------------------------------
root=$2
# shellcheck disable=SC2154 # f is the trap's own loop variable
trap 'for f in "$root"/*.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2; done' ERR
scripts="$here/../scripts"
sock="$root/sock" data="$root/data"
mkdir -p "$sock"
export PGHOST=$sock PGPORT=5432 PGUSER=postgres PGDATABASE=app
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
min() { printf '%s\n' "$@" | sort -g | head -n 1; }
say() { echo "bench: $*" >&2; }

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
checkpoint_timeout = '30min'
log_min_messages = warning
CONF
pg_ctl -D "$data" -l "$root/server.log" -w start >/dev/null
trap 'pg_ctl -D "$data" -m immediate stop >/dev/null 2>&1 || true' EXIT
createdb app
t=$(now)
pgbench -i -s "$BENCH_SCALE" -q app 2>/dev/null
say "pgbench -i -s $BENCH_SCALE: $(secs "$t" "$(now)")s"
psql -qc 'CHECKPOINT' postgres
db_bytes=$(psql -Atc "SELECT pg_database_size('app')")
cluster_bytes=$(du -sb "$data" | cut -f1)
mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
say "database app: $(mb "$db_bytes") MB, data directory $(mb "$cluster_bytes") MB"

ours_dir="$root/ours" plain_dir="$root/plain"
mkdir -p "$ours_dir" "$plain_dir"
export BACKUP_DIR=$ours_dir BACKUP_KEEP_FULL=10 BACKUP_RETENTION_DAYS=10 BACKUP_SCRATCH_DIR="$root/scratch"
p_phys=() p_dump=() p_full=() o_full=()
plain_full() {
  rm -rf "${plain_dir:?}"/*
  local t t1 t2
  t=$(now)
  pg_basebackup -D "$plain_dir/base" -F tar -X stream --compress=client-gzip:1 --checkpoint=fast -l plain
  t1=$(now)
  pg_dump -F custom -f "$plain_dir/app.dump" app
  t2=$(now)
  p_phys+=("$(secs "$t" "$t1")") p_dump+=("$(secs "$t1" "$t2")") p_full+=("$(secs "$t" "$t2")")
  say "round $r plain: pg_basebackup ${p_phys[-1]}s + pg_dump ${p_dump[-1]}s"
}
ours_full() {
  local t
  t=$(now)
  bash "$scripts/full-backup.sh" 2>"$root/full-$r.log"
  o_full+=("$(secs "$t" "$(now)")")
  say "round $r ours: full-backup.sh ${o_full[-1]}s"
}
for ((r = 1; r <= BENCH_ROUNDS; r++)); do
  if ((r % 2)); then plain_full; ours_full; else ours_full; plain_full; fi
done
# shellcheck disable=SC2010 # backup ids are timestamps; the newest sorts last
ours_id=$(ls "$ours_dir/full" | grep -v '^\.' | tail -n 1)
ours_size=$(du -sb "$ours_dir/full/$ours_id" | cut -f1)
plain_size=$(du -sb "$plain_dir" | cut -f1)

# WAL: rounds of a workload followed by one incremental run and, to the same LSN, plain
# pg_receivewal from its own slot; both start from the same LSN (an untimed first run of each),
# rounds alternate which side goes first (when plain goes first, it stops at the flush LSN after
# the workload and ours goes a few records further: its sentinel row and WAL switch).
restore_rounds=$((BENCH_ROUNDS < 3 ? BENCH_ROUNDS : 3))
psql -qAtc "SELECT pg_create_physical_replication_slot('bench_plain', true)" >/dev/null
mkdir -p "$plain_dir/wal"
plain_receive() { # endpos
  pg_receivewal -D "$plain_dir/wal" --slot=bench_plain --endpos="$1" --no-loop --synchronous --compress=gzip:1 2>/dev/null
}
ours_endpos() { tail -n 1 "$ours_dir/incremental.log" | sed -n 's/.* lsn=\([^ ]*\).*/\1/p'; }
bash "$scripts/incremental-backup.sh" 2>/dev/null
plain_receive "$(ours_endpos)"
o_incr_s=() p_incr_s=() wal_mb_s=()
for ((r = 1; r <= restore_rounds; r++)); do
  lsn0=$(ours_endpos)
  # After a checkpoint, as between two runs in production (checkpoint_timeout 5 min < 15 min):
  # every round's WAL holds the full-page images a first write after a checkpoint logs.
  psql -qc CHECKPOINT postgres
  pgbench -T "$BENCH_WORKLOAD_SECONDS" -c 2 -j 1 app >/dev/null 2>&1
  if ((r % 2)); then
    t=$(now)
    bash "$scripts/incremental-backup.sh" 2>"$root/incr.log"
    o_incr_s+=("$(secs "$t" "$(now)")")
    t=$(now)
    plain_receive "$(ours_endpos)"
    p_incr_s+=("$(secs "$t" "$(now)")")
  else
    e=$(psql -Atc 'SELECT pg_current_wal_flush_lsn()')
    psql -qAtc "SELECT pg_logical_emit_message(true, 'bench', 'plain endpos')" >/dev/null # WAL past it: pg_receivewal stops
    t=$(now)
    plain_receive "$e"
    p_incr_s+=("$(secs "$t" "$(now)")")
    t=$(now)
    bash "$scripts/incremental-backup.sh" 2>"$root/incr.log"
    o_incr_s+=("$(secs "$t" "$(now)")")
  fi
  wal_mb_s+=("$(mb "$(psql -Atc "SELECT pg_wal_lsn_diff('$(ours_endpos)', '$lsn0')::bigint")")")
  say "round $r WAL ${wal_mb_s[-1]} MB: incremental-backup.sh ${o_incr_s[-1]}s, plain pg_receivewal ${p_incr_s[-1]}s"
done
endpos=$(ours_endpos)
# Rounds differ in WAL volume, so the best round of each side is taken per GB of WAL.
o_incr_gb=() p_incr_gb=()
for i in "${!wal_mb_s[@]}"; do
  o_incr_gb+=("$(awk -v s="${o_incr_s[i]}" -v m="${wal_mb_s[i]}" 'BEGIN { printf "%.2f", s / m * 1024 }')")
  p_incr_gb+=("$(awk -v s="${p_incr_s[i]}" -v m="${wal_mb_s[i]}" 'BEGIN { printf "%.2f", s / m * 1024 }')")
done
o_incr=$(min "${o_incr_gb[@]}") p_incr=$(min "${p_incr_gb[@]}")
o_incr_max=$(printf '%s\n' "${o_incr_s[@]}" | sort -g | tail -n 1)
# The slots are done with: without them the restores' WAL (several GB) is recycled, not kept.
psql -qAtc "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" >/dev/null

# ---- restores, both to the same LSN with the same archive, alternating which goes first ------
# The plain restore_command: gunzip a segment, or the newest .partial one padded to 16 MB (since
# issue 18 pg_receivewal writes plain WAL and the open .partial stays plain: copied as it is).
cat >"$root/plain-restore.sh" <<'SH'
a=$1 f=$2 p=$3
if [ -f "$a/$f.gz" ]; then gzip -dc "$a/$f.gz" >"$p"
elif [ -f "$a/$f.gz.partial" ]; then gzip -dc "$a/$f.gz.partial" >"$p" && truncate -s 16M "$p"
elif [ -f "$a/$f" ]; then cp "$a/$f" "$p"
elif [ -f "$a/$f.partial" ]; then cp "$a/$f.partial" "$p"
else exit 1; fi
SH
ours_pitr() {
  rm -rf "$root/r-ours" "$root/rs-ours"
  RESTORE_PGDATA="$root/r-ours" RESTORE_TARGET_LSN="$endpos" RESTORE_SOCKET_DIR="$root/rs-ours" bash "$scripts/restore.sh" 2>"$root/restore.log"
}
plain_pitr() {
  rm -rf "$root/r-plain" "$root/rs-plain"
  mkdir -p "$root/r-plain/pg_wal" "$root/rs-plain"
  chmod 700 "$root/r-plain"
  tar -xzf "$plain_dir/base/base.tar.gz" -C "$root/r-plain"
  tar -xzf "$plain_dir/base/pg_wal.tar.gz" -C "$root/r-plain/pg_wal"
  cat >>"$root/r-plain/postgresql.auto.conf" <<CONF
restore_command = 'sh $root/plain-restore.sh $ours_dir/wal %f %p'
recovery_target_lsn = '$endpos'
recovery_target_action = 'promote'
CONF
  touch "$root/r-plain/recovery.signal"
  pg_ctl -D "$root/r-plain" -l "$root/r-plain.log" -o "-c unix_socket_directories='$root/rs-plain' -c archive_mode=off" start >/dev/null
  until [[ "$(psql -h "$root/rs-plain" -Atc 'SELECT pg_is_in_recovery()' postgres 2>/dev/null)" == f ]]; do
    pg_ctl -D "$root/r-plain" status >/dev/null || { tail -n 5 "$root/r-plain.log" >&2; say "plain recovery failed"; exit 1; }
    sleep 0.2
  done
  pg_ctl -D "$root/r-plain" -m fast -w stop >/dev/null
}
# Each into a new database named after the round ($r): the functions run in $(...) subshells.
ours_logical() {
  createdb "r_ours_$r"
  RESTORE_MODE=logical RESTORE_DBNAME="r_ours_$r" RESTORE_BACKUP_ID="$ours_id" bash "$scripts/restore.sh" 2>"$root/logical.log"
}
plain_logical() {
  createdb "r_plain_$r"
  pg_restore -d "r_plain_$r" "$plain_dir/app.dump"
}
timed() { # prints the seconds "$@" took; exits the bench when it fails
  local t rc=0
  t=$(now)
  "$@" >&2 || rc=$?
  if [[ $rc -ne 0 ]]; then say "$* failed (exit $rc)"; kill -TERM $$; exit $rc; fi
  secs "$t" "$(now)"
}
# Each logical restore starts after a checkpoint, and its database is dropped right after it is
# timed: neither side pays for the other's dirty buffers, checkpoints or autovacuum.
logical() { # ours|plain -> seconds
  psql -qc CHECKPOINT postgres
  timed "${1}_logical"
  dropdb "r_${1}_$r"
}
o_pitr_s=() p_pitr_s=() o_logical_s=() p_logical_s=()
for ((r = 1; r <= restore_rounds; r++)); do
  if ((r % 2)); then
    p_pitr_s+=("$(timed plain_pitr)") o_pitr_s+=("$(timed ours_pitr)")
    p_logical_s+=("$(logical plain)") o_logical_s+=("$(logical ours)")
  else
    o_pitr_s+=("$(timed ours_pitr)") p_pitr_s+=("$(timed plain_pitr)")
    o_logical_s+=("$(logical ours)") p_logical_s+=("$(logical plain)")
  fi
  say "round $r PITR restore: restore.sh ${o_pitr_s[-1]}s, plain tar + recovery ${p_pitr_s[-1]}s"
  say "round $r logical restore: restore.sh ${o_logical_s[-1]}s, plain pg_restore ${p_logical_s[-1]}s"
done
o_pitr=$(min "${o_pitr_s[@]}") p_pitr=$(min "${p_pitr_s[@]}")
o_logical=$(min "${o_logical_s[@]}") p_logical=$(min "${p_logical_s[@]}")

# ---- report ---------------------------------------------------------------------------------
best_pf=$(min "${p_full[@]}") best_of=$(min "${o_full[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v b="$db_bytes" -v s="$1" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }
cpu=$(nproc)
load=$(cut -d' ' -f1-3 /proc/loadavg)
verify_s=$(sed -n 's/.*verified in \([0-9]*\)s.*/\1/p' "$root/full-$BENCH_ROUNDS.log" | tail -n 1)
dump_s=$(sed -n 's/.*tables counted, in \([0-9]*\)s.*/\1/p' "$root/full-$BENCH_ROUNDS.log" | tail -n 1)
base_s=$(sed -n 's/.*base backup written in \([0-9]*\)s.*/\1/p' "$root/full-$BENCH_ROUNDS.log" | tail -n 1)
cat >"$root/results.md" <<MD
## backup

Command: \`npx nx run backup:bench\` (\`libs/backup/bench/bench.sh\`; \`BENCH_SCALE\`, \`BENCH_ROUNDS\`).
Anchor: the plain PostgreSQL 15 tools on the same database in the same run, with the same
compression (\`pg_basebackup -Ft -X stream --compress=client-gzip:1\`, \`pg_dump -Fc\`,
\`pg_receivewal --compress=gzip:1\`, \`tar -xzf\` + \`restore_command\` replay, \`pg_restore\`).
Goal: within 1.2 × of the plain tools' time.

Run: $(date -u +%Y-%m-%d), pgbench scale ${BENCH_SCALE} (database $(mb "$db_bytes") MB, data directory
$(mb "$cluster_bytes") MB), best of ${BENCH_ROUNDS} rounds for the full backup and ${restore_rounds} for the incremental run and the restores
(rounds alternate which side goes first), the whole bench took
$(awk -v s="$SECONDS" 'BEGIN { printf "%.1f", s / 60 }') min; ${cpu} cores, load average at the end ${load} (this bench's own work included).
Unix socket, no TLS (the CronJobs add TLS 1.3 to bitpin-cluster-rw). Timings on this machine vary
by up to ±20 % between rounds when other work shares the cores.

| step | ours s | plain s | × plain | ours MB/s |
|---|---|---|---|---|
| full backup (base + verify + dump + counts + checksums) vs pg_basebackup + pg_dump | ${best_of} | ${best_pf} | $(ratio "$best_of" "$best_pf") | $(rate "$best_of") |
| incremental, s per GB of WAL ($(min "${wal_mb_s[@]}")–$(printf '%s\n' "${wal_mb_s[@]}" | sort -g | tail -n 1) MB per round, ${BENCH_WORKLOAD_SECONDS} s pgbench) vs pg_receivewal | ${o_incr} | ${p_incr} | $(ratio "$o_incr" "$p_incr") | – |
| PITR restore (SHA-256 while extracting + structural pg_verifybackup + replay) vs tar + replay | ${o_pitr} | ${p_pitr} | $(ratio "$o_pitr" "$p_pitr") | $(rate "$o_pitr") |
| logical restore (one transaction, row counts inside it) vs pg_restore | ${o_logical} | ${p_logical} | $(ratio "$o_logical" "$p_logical") | $(rate "$o_logical") |

$(awk -v f="$(ratio "$best_of" "$best_pf")" -v i="$(ratio "$o_incr" "$p_incr")" -v p="$(ratio "$o_pitr" "$p_pitr")" -v l="$(ratio "$o_logical" "$p_logical")" 'BEGIN {
  n = split("full backup,incremental,PITR restore,logical restore", name, ","); r[1] = f; r[2] = i; r[3] = p; r[4] = l
  for (k = 1; k <= n; k++) if (r[k] > 1.2) miss = miss (miss ? ", " : "") name[k] " " r[k] " ×"
  print (miss ? "Goal **not met** in this run for: " miss "." : "Goal met in this run for every step (all ≤ 1.2 ×).") }')
Inside our full backup (last round): the one pass pg_basebackup → gzip → volume, written, hashed
and unpacked on the way, ${base_s:-?} s, with pg_dump (gzip level 1) + row counts beside it (${dump_s:-?} s,
sharing the 2 cores); then pg_verifybackup of the unpacked copy ${verify_s:-?} s. Plain rounds: pg_basebackup
$(min "${p_phys[@]}") s, pg_dump $(min "${p_dump[@]}") s. Sizes: ours $(mb "$ours_size") MB per full backup, plain $(mb "$plain_size") MB.
All rounds (s): full ours ${o_full[*]}, plain ${p_full[*]}; incremental ours ${o_incr_s[*]}, plain ${p_incr_s[*]}
(WAL MB ${wal_mb_s[*]}; per GB ours ${o_incr_gb[*]}, plain ${p_incr_gb[*]}); PITR ours ${o_pitr_s[*]}, plain ${p_pitr_s[*]}; logical ours ${o_logical_s[*]}, plain ${p_logical_s[*]}.
What the full backup adds is the verification (a second, uncompressed copy written and read back:
PostgreSQL 15's pg_verifybackup reads only plain directories) and the row counts; it saves on
pg_dump's compression (level 1, like the base backup's gzip:1, instead of pg_dump's default 6).

- **RPO**: with the WAL receiver streaming, seconds (measured by \`nx run backup:bench-rpo\`, section
  "backup: RPO"); while it is down, 15 min (the incremental schedule) + one run (at most ${o_incr_max} s
  here): at most ~$(awk -v s="$o_incr_max" 'BEGIN { printf "%.1f", 15 + s / 60 }') min of commits.
- The incremental row is the run's fallback (it streams WAL itself, as when no receiver runs):
  since issue 18 pg_receivewal writes plain WAL (PostgreSQL 15's cannot resume a compressed
  \`.partial\`) and one \`bitpin_gzip.py --follow\` beside it compresses each segment with zlib as
  soon as it is complete (two threads, so what is left when the streaming stops is done on both
  cores), taking each file's SHA-256 as it writes it; the anchor compresses inside pg_receivewal.
- **RTO** for this database: ${o_pitr} s to a consistent, promoted copy (≈ $(rate "$o_pitr") MB/s, so a full
  5 GiB volume ≈ $(awk -v r="$(rate "$o_pitr")" 'BEGIN { printf "%.1f", 5120 / r / 60 }') min plus replaying a day of WAL); the logical path
  ${o_logical} s. Add Pod scheduling and image pull for the Kubernetes Job.
MD
