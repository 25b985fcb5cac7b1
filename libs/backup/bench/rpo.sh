#!/usr/bin/env bash
# nx run backup:bench-rpo — the recovery point with the WAL receiver, measured: test/wal-receiver.test.ts
# run with BITPIN_RPO_KILLS kills (default 5) of a real PostgreSQL 15 primary (SIGKILL to every
# process of it) under a write every 100 ms, in synchronous mode and then asynchronous; after each
# kill the newest state is restored from the archive alone (restore.sh, target latest) and compared
# with the last acknowledged commit. Writes the "## backup: RPO" section of docs/benchmarks.md.
# The numbers are reported, never asserted (the test asserts only 0 acknowledged commits lost in
# synchronous mode and that what the receiver reported as archived is restorable).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/.." && pwd)
repo=$(cd "$project/../.." && pwd)
kills=${BITPIN_RPO_KILLS:-5}
report=$(mktemp /tmp/bitpin-rpo.XXXXXX.json)
trap 'rm -f "$report"' EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
(cd "$project" && BITPIN_RPO_KILLS="$kills" BITPIN_RPO_REPORT="$report" npx vitest run test/wal-receiver.test.ts)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$repo/docs/benchmarks.md" "$report" "$kills" "$load_start" "$load_end" "$(($(date +%s) - t0))" "$(date -u +%Y-%m-%d)" <<'PY'
import json, re, sys
doc, rep, kills, l0, l1, secs, day = sys.argv[1:]
rounds = json.load(open(rep))
def rows(mode):
    return [r for r in rounds if r["mode"] == mode]
lines = [
    "## backup: RPO",
    "",
    "Command: `npx nx run backup:bench-rpo` (`libs/backup/bench/rpo.sh`: test/wal-receiver.test.ts with",
    f"`BITPIN_RPO_KILLS={kills}`). A real PostgreSQL 15 primary (TLS, the backup role) and the WAL receiver",
    "(`wal-receiver.sh`: pg_receivewal --synchronous, plain WAL on the archive volume); a writer commits one",
    "row every 100 ms (a new psql each, over the Unix socket); the primary is killed with SIGKILL (every",
    "process of it at once); the newest state is restored from the archive alone (`restore.sh`, target",
    "latest, into a fresh data directory) and its newest row compared with the last acknowledged commit.",
    "RPO = time of the last acknowledged commit − time of the newest restored commit (server clock,",
    "the rows' `clock_timestamp()`). The primary is restarted between kills (crash recovery). The test",
    "primary runs with `fsync = off` (the test harness's setting: its own flush costs nothing; what it",
    "streams, and what the receiver receives and fsyncs, is unaffected).",
    "Goal (issue 18): async ≤ 5 s; synchronous mode 0 acknowledged commits lost.",
    "",
    f"Run: {day}, {kills} kills per mode, {int(secs) // 60} min {int(secs) % 60} s in all; 2 cores shared with other",
    f"work, load average at the start {l0}, at the end {l1}.",
    "",
    "| mode | kills | RPO per kill s | worst s | acknowledged commits lost | goal |",
    "|---|---|---|---|---|---|",
]
for mode, goal in (("sync", "0 lost"), ("async", "≤ 5 s")):
    rs = rows(mode)
    if not rs:
        continue
    per = " ".join(f"{r['rpoSeconds']:.3f}" for r in rs)
    worst = max(r["rpoSeconds"] for r in rs)
    lost = sum(r["lostAcked"] for r in rs)
    met = (lost == 0) if mode == "sync" else (worst <= 5)
    lines.append(f"| {'synchronous (FIRST 1 (bitpin_wal_receiver))' if mode == 'sync' else 'asynchronous'} | {len(rs)} | {per} | {worst:.3f} | {lost} | {goal}: {'met' if met else 'MISSED'} |")
lines += [
    "",
    "Last acknowledged id vs newest restored id per kill: "
    + "; ".join(f"{r['mode']} {r['lastAckId']}/{r['restoredId']}" for r in rounds)
    + ". The receiver confirms WAL as soon as it has fsync'd it, so at a write every 100 ms it is",
    "milliseconds behind; what a kill can lose (async) is the WAL the primary flushed but had not yet",
    "sent. Before the receiver the same kill lost up to the last 15-minute incremental run (issue 18:",
    "2 min 25 s in a trial, 15 min + one run at worst).",
    "",
]
section = "\n".join(lines)
text = open(doc).read()
m = re.search(r"^## backup: RPO\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
if m:
    text = text[: m.start()] + section + ("\n" if m.end() < len(text) else "") + text[m.end():]
else:
    text = text.rstrip() + "\n\n" + section
open(doc, "w").write(text)
print(section)
PY
