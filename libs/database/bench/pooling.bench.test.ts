/**
 * `npx nx run database:bench`: what connection pooling buys Django with `CONN_MAX_AGE=0` (a new
 * connection per request). pgbench `-C` opens a new connection for every transaction, as such a
 * request does, against a real PostgreSQL 15 — directly, and through a real PgBouncer configured as
 * prod's `-rw` Pooler (session mode, prod's sizes, TLS both ways: support/pgbouncer.ts).
 *
 * Measured: transactions per second of `pgbench -C -S` (select-only: one indexed read per
 * transaction; reconnection time included) with BENCH_CLIENTS clients (default 8) for
 * BENCH_SECONDS (default 8) per run, BENCH_ROUNDS rounds (default 3) alternating direct / pooled;
 * the ratio pooled / direct per round and its median. Both paths pay the client's TLS handshake
 * and SCRAM proof; only the direct path pays a PostgreSQL backend start per transaction.
 */
import { PG_BINDIR, runTool, type PgServer } from '@bitpin/test-support';
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APP, describeWithPgBouncer, startDatabase, startPgBouncer, synthesizedPooler, type PgBouncer } from '../test/support/pgbouncer.js';

const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 8);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const GOAL = 3;
const CLK_TCK = 100; // Linux USER_HZ

/** utime, stime, cutime, cstime of a process, in clock ticks (/proc/<pid>/stat). */
function times(pid: number): { self: number; children: number; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    return { ppid: Number(f[1]), self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined; // exited meanwhile
  }
}

/**
 * CPU seconds PostgreSQL has used so far: the postmaster, its live children (backends, background
 * processes) and the children it has reaped (backends of closed connections), and PgBouncer's own.
 */
function serverCpu(postmaster: number, pgbouncer: number): { postgres: number; pgbouncer: number } {
  const pm = times(postmaster)!;
  let live = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const t = times(Number(d));
    if (t?.ppid === postmaster) live += t.self;
  }
  return { postgres: (pm.self + pm.children + live) / CLK_TCK, pgbouncer: (times(pgbouncer)?.self ?? 0) / CLK_TCK };
}

describeWithPgBouncer(['pgbench'])('pgbench -C: PgBouncer (prod Pooler) vs direct PostgreSQL 15', () => {
  let db: PgServer;
  let bouncer: PgBouncer;
  const env = () => ({ PGPASSWORD: APP.password, PGSSLMODE: 'verify-full', PGSSLROOTCERT: db.tls!.caCert, PGUSER: APP.user, PGDATABASE: APP.database, PGHOST: 'localhost' });
  const pgbench = (port: number, args: string[], timeoutMs: number) => {
    const r = runTool(join(PG_BINDIR, 'pgbench'), ['-p', String(port), ...args], env(), timeoutMs);
    if (r.status !== 0) throw new Error(`pgbench ${args.join(' ')} on :${port} failed: ${r.output}${bouncer ? `\npgbouncer: ${bouncer.log()}` : ''}`);
    return r.output;
  };

  beforeAll(async () => {
    db = await startDatabase(['max_connections = 200']);
    bouncer = await startPgBouncer(db, synthesizedPooler('prod'));
    pgbench(db.port, ['-i', '-s', '1', '-q'], 120_000);
  });
  afterAll(async () => {
    await bouncer?.stop();
    db?.destroy();
  });

  it('reports the TPS ratio pooled / direct', () => {
    const loadStart = loadavg()[0]!;
    const postmaster = Number(readFileSync(join(db.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const run = (port: number) => {
      const before = serverCpu(postmaster, bouncer.proc.child.pid!);
      const clientBefore = times(process.pid)!.children;
      const out = pgbench(port, ['-C', '-S', '-n', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)], (SECONDS + 60) * 1000);
      const after = serverCpu(postmaster, bouncer.proc.child.pid!);
      // pgbench is reaped by this process (spawnSync): its CPU lands in our cutime/cstime.
      const clientCpu = (times(process.pid)!.children - clientBefore) / CLK_TCK;
      const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
      const txns = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]);
      const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
      expect(failed, out).toBe(0);
      // Server-side CPU per transaction: PostgreSQL's, plus PgBouncer's on the pooled path.
      const cpuMs = ((after.postgres - before.postgres) + (port === bouncer.port ? after.pgbouncer - before.pgbouncer : 0)) * 1000 / txns;
      return { tps, cpuMs, clientMs: (clientCpu * 1000) / txns };
    };
    type Run = ReturnType<typeof run>;
    const rounds: { direct: Run; pooled: Run; ratio: number; cpuRatio: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate the order, so a drift in machine load does not favour one side.
      let direct: Run, pooled: Run;
      if (i % 2 === 0) {
        direct = run(db.port);
        pooled = run(bouncer.port);
      } else {
        pooled = run(bouncer.port);
        direct = run(db.port);
      }
      rounds.push({ direct, pooled, ratio: pooled.tps / direct.tps, cpuRatio: direct.cpuMs / pooled.cpuMs });
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const median = med(rounds.map((r) => r.ratio));
    const lines = [
      `pgbench -C -S -c ${CLIENTS} -j 2 -T ${SECONDS}, ${ROUNDS} rounds; ${runTool(join(PG_BINDIR, 'postgres'), ['--version']).output.trim()}; ${runTool('/usr/sbin/pgbouncer', ['--version']).output.split('\n')[0]}; nproc ${runTool('nproc', []).output.trim()}`,
      ...rounds.map(
        (r, i) =>
          `round ${i + 1}: direct ${r.direct.tps.toFixed(0)} tps (server CPU ${r.direct.cpuMs.toFixed(2)} ms/txn, pgbench ${r.direct.clientMs.toFixed(2)}), PgBouncer ${r.pooled.tps.toFixed(0)} tps (server CPU ${r.pooled.cpuMs.toFixed(2)} ms/txn incl. PgBouncer, pgbench ${r.pooled.clientMs.toFixed(2)}); TPS ratio ${r.ratio.toFixed(2)}x, server CPU ratio ${r.cpuRatio.toFixed(2)}x`,
      ),
      `median TPS ratio ${median.toFixed(2)}x (goal ≥ ${GOAL}x: ${median >= GOAL ? 'met' : 'missed'}); median server-side CPU per transaction ratio ${med(rounds.map((r) => r.cpuRatio)).toFixed(2)}x; load average ${loadStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at the end`,
    ];
    console.log(lines.join('\n'));
    for (const r of rounds) expect(r.pooled.tps).toBeGreaterThan(0);
  });
});
