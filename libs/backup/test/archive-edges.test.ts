/**
 * Edges of the WAL archive found by trying it as a new user would, each on a real PostgreSQL 15
 * (the incremental run's own pg_receivewal, no receiver):
 * - the backup slot is at the archive's end after each run (it stayed one run behind: the
 *   primary kept WAL the archive already had);
 * - the open .partial segment has a checksum of its WAL (SHA256SUMS.partial): check.sh and a
 *   restore fail on a corrupted one (both passed it before);
 * - a gap in the archive after the WAL a target needs no longer refuses that restore: it says
 *   what is restorable and restores; a target past the gap is refused saying the same.
 */
import { readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { backupRoleSetupSql, scriptPath, type ScriptFile } from '../src/index.js';
import { describeWithPostgres, ownedDir, ownedTempDir, runAsPostgres, sqlAt, stopAt, type RunResult } from '@bitpin/test-support';
import { Primary } from './support/postgres.js';

const ROLE = 'bitpin_backup';
const PASSWORD = 'edges-pw';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithPostgres(['pg_receivewal', 'pg_basebackup', 'pg_waldump'])('WAL archive edges on a real PostgreSQL 15', { timeout: 300_000 }, () => {
  let pg: Primary;
  let work: string;
  let backupDir: string;
  let restores = 0;
  const marks: Record<string, number> = {};

  function run(script: ScriptFile, env: Record<string, string> = {}): RunResult {
    return runAsPostgres('bash', [scriptPath(script)], { ...pg.backupEnv(), BACKUP_DIR: backupDir, ...env });
  }
  function ok(script: ScriptFile, env: Record<string, string> = {}): RunResult {
    const r = run(script, env);
    if (r.status !== 0) throw new Error(`${script} exited ${r.status}:\n${r.stderr}`);
    return r;
  }
  const now = () => Date.parse(pg.sql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`));
  async function write(label: string) {
    await sleep(1100);
    marks[`${label}:before`] = now();
    pg.sql(`INSERT INTO events (label) VALUES ('${label}')`);
    marks[`${label}:after`] = now();
  }
  const between = (a: string, b: string) => new Date(Math.round((marks[`${a}:after`]! + marks[`${b}:before`]!) / 2)).toISOString();
  const logLines = () => readFileSync(join(backupDir, 'incremental.log'), 'utf8').trim().split('\n');
  function restore(env: Record<string, string>): RunResult & { labels?: string } {
    const name = `restore-${++restores}`;
    const data = join(ownedDir(join(work, name)), 'pgdata');
    const socket = ownedDir(join(work, name, 'sock'));
    const r = run('restore.sh', { RESTORE_PGDATA: data, RESTORE_KEEP_RUNNING: 'true', RESTORE_SOCKET_DIR: socket, RESTORE_PORT: '5432', ...env });
    if (r.status !== 0) return r;
    try {
      return { ...r, labels: sqlAt(socket, 5432, 'app', `SELECT coalesce(string_agg(label, ',' ORDER BY id), '') FROM events`) };
    } finally {
      stopAt(data);
    }
  }

  beforeAll(async () => {
    pg = await Primary.start({ backupRole: ROLE, backupPassword: PASSWORD });
    work = ownedTempDir('bitpin-edges-');
    backupDir = ownedDir(join(work, 'backup'), 0o750);
    pg.sql('CREATE DATABASE app', 'postgres');
    pg.sql(`CREATE ROLE ${ROLE} LOGIN REPLICATION PASSWORD '${PASSWORD}'`, 'postgres');
    pg.sql(backupRoleSetupSql({ role: ROLE, database: 'app' }));
    pg.sql(`CREATE TABLE events (id serial PRIMARY KEY, label text NOT NULL)`);
    ok('full-backup.sh');
  }, 120_000);

  afterAll(() => {
    pg?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('after each run the backup slot is at the archived position, not one run behind', async () => {
    for (const label of ['a', 'b']) {
      await write(label);
      const r = ok('incremental-backup.sh');
      expect(r.stderr).toMatch(/mode=fallback/);
      const lsn = /lsn=(\S+)/.exec(logLines().at(-1)!)![1]!;
      expect(pg.sql(`SELECT restart_lsn >= '${lsn}'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'bitpin_backup'`, 'postgres')).toBe('t');
    }
    // What the archive published is compressed; the segment still open is plain and checksummed.
    const wal = readdirSync(join(backupDir, 'wal'));
    expect(wal.filter((f) => /^[0-9A-F]{24}$/.test(f))).toEqual([]);
    expect(wal.some((f) => /^[0-9A-F]{24}\.gz$/.test(f))).toBe(true);
    expect(readFileSync(join(backupDir, 'wal', 'SHA256SUMS.partial'), 'utf8')).toMatch(/^[0-9a-f]{64} 16777216 [0-9A-F]{24}\.partial$/m);
  });

  it('a corrupted .partial segment fails check.sh and the restore (both passed it before)', () => {
    const name = readdirSync(join(backupDir, 'wal')).find((f) => f.endsWith('.partial'))!;
    const path = join(backupDir, 'wal', name);
    const original = readFileSync(path);
    const bad = Buffer.from(original);
    bad[100] = bad[100]! ^ 0xff; // inside the first WAL page the newest run wrote
    writeFileSync(path, bad);
    try {
      const c = run('check.sh');
      expect(c.status).not.toBe(0);
      expect(c.stderr).toContain(`WAL ${name} is corrupted (its WAL does not match SHA256SUMS.partial)`);
      const r = restore({});
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`${name.replace('.', '\\.')} does not match its SHA-256 in .*SHA256SUMS\\.partial`));
    } finally {
      writeFileSync(path, original);
    }
    ok('check.sh');
  });

  it('a gap after the target: says what is restorable and restores to a target before it; refuses one past it', async () => {
    await write('c');
    ok('incremental-backup.sh');
    await write('d');
    ok('incremental-backup.sh');
    // c is in the segment that starts at the second-to-last run's position: lose it.
    const lines = logLines();
    const startOfC = /lsn=(\S+)/.exec(lines.at(-2)!)![1]!;
    const seg = pg.sql(`SELECT pg_walfile_name('${startOfC}'::pg_lsn)`, 'postgres');
    const file = readdirSync(join(backupDir, 'wal')).find((f) => f.startsWith(seg) && !f.endsWith('.partial'))!;
    expect(file).toBe(`${seg}.gz`);
    unlinkSync(join(backupDir, 'wal', file));
    expect(run('check.sh').stderr).toMatch(/WAL archive has a gap/);

    const before = restore({ RESTORE_TARGET_TIME: between('a', 'b') });
    expect(before.stderr).toMatch(new RegExp(`the WAL archive has a gap at segment ${seg.slice(8)} \\(log\\+seg\\): restorable is any time from the backup's end \\(\\S+\\) to before \\S+Z \\(the last commit before the gap\\)`));
    expect(before.status, before.stderr).toBe(0);
    expect(before.labels).toBe('a');

    const after = restore({ RESTORE_TARGET_TIME: between('c', 'd') });
    expect(after.status).not.toBe(0);
    expect(after.stderr).toMatch(/needs WAL the archive lacks: the WAL archive has a gap at segment .* pick an earlier RESTORE_TARGET_TIME/);
    const latest = restore({});
    expect(latest.status).not.toBe(0);
    expect(latest.stderr).toMatch(/RESTORE_TARGET=latest needs the whole archive: set RESTORE_TARGET_TIME before \S+Z/);
    // Nothing was left behind by the refused restores.
    expect(readdirSync(join(work, `restore-${restores}`))).toEqual(['sock']);
  });
});
