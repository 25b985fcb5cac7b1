/**
 * The restore drill, on a real PostgreSQL 15 primary (no mocks): the backup scripts run exactly
 * as the CronJobs run them — as a non-root user, as a dedicated non-superuser role with only the
 * documented grants, over TLS verify-full — and the restores go into fresh data directories.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { backupRoleSetupSql, scriptPath, type ScriptFile } from '../src/index.js';
import { describeWithPostgres, isRoot, ownedDir, ownedTempDir, runAsPostgres, serverUser, sqlAt, stopAt, type RunResult } from '@bitpin/test-support';
import { Primary } from './support/postgres.js';

const ROLE = 'bitpin_backup';
const PASSWORD = 'drill-secret-pw';

describeWithPostgres(['pg_receivewal', 'pg_basebackup', 'pg_dump'])('restore drill on a real PostgreSQL 15 primary', { timeout: 180_000 }, () => {
  let pg: Primary;
  let work: string;
  let backupDir: string;
  const writes: { label: string; before: number; after: number }[] = [];
  const drillStart = Date.now();

  function run(script: ScriptFile, env: Record<string, string> = {}, args: string[] = []): RunResult {
    return runAsPostgres('bash', [scriptPath(script), ...args], { ...pg.backupEnv(), BACKUP_DIR: backupDir, BACKUP_KEEP_FULL: '2', BACKUP_RETENTION_DAYS: '2', ...env });
  }
  function ok(script: ScriptFile, env: Record<string, string> = {}, args: string[] = []): RunResult {
    const r = run(script, env, args);
    if (r.status !== 0) throw new Error(`${script} exited ${r.status}:\n${r.stderr}`);
    return r;
  }
  const serverNow = () => Date.parse(pg.sql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Three rows committed in one transaction, with the server clock just before and after. */
  function write(label: string): void {
    const before = serverNow();
    pg.sql(`INSERT INTO drill.events (label, n) SELECT '${label}', g FROM generate_series(1, 3) g`);
    writes.push({ label, before, after: serverNow() });
  }
  /** A time strictly between the commit of write `a` and the start of write `b`. */
  function between(a: string, b: string): string {
    const wa = writes.find((w) => w.label === a)!;
    const wb = writes.find((w) => w.label === b)!;
    expect(wb.before - wa.after).toBeGreaterThan(500);
    return new Date(Math.round((wa.after + wb.before) / 2)).toISOString();
  }
  function restoreTo(targetTime: string, name: string): { socket: string; data: string } {
    const data = join(ownedDir(join(work, name)), 'pgdata');
    const socket = ownedDir(join(work, name, 'sock'));
    expect(existsSync(data)).toBe(false); // a fresh data directory
    ok('restore.sh', { RESTORE_PGDATA: data, RESTORE_TARGET_TIME: targetTime, RESTORE_KEEP_RUNNING: 'true', RESTORE_SOCKET_DIR: socket, RESTORE_PORT: '5432' });
    return { socket, data };
  }

  beforeAll(async () => {
    pg = await Primary.start({ backupRole: ROLE, backupPassword: PASSWORD });
    work = ownedTempDir('bitpin-drill-');
    backupDir = ownedDir(join(work, 'backup'), 0o750);
    pg.sql(`CREATE ROLE app LOGIN PASSWORD 'app-pw'`, 'postgres');
    pg.sql('CREATE DATABASE app OWNER app', 'postgres');
    // What CloudNativePG's managed role creates, then the documented one-off grants.
    pg.sql(`CREATE ROLE ${ROLE} LOGIN REPLICATION PASSWORD '${PASSWORD}'`, 'postgres');
    pg.sql(backupRoleSetupSql({ role: ROLE, database: 'app' }));
    pg.sql(`CREATE TABLE public.accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL);
            INSERT INTO public.accounts SELECT g, md5(g::text), g * 10 FROM generate_series(1, 5000) g;
            CREATE SCHEMA drill;
            CREATE TABLE drill.events (id serial PRIMARY KEY, label text NOT NULL, n int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());`);
  }, 120_000);

  afterAll(() => {
    // The drill's duration, for docs/benchmarks.md (reported, never asserted).
    console.log(`restore drill: ${((Date.now() - drillStart) / 1000).toFixed(1)}s on PostgreSQL 15`);
    pg?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the backup role is no superuser and reaches the server only over TLS', () => {
    expect(pg.sql(`SELECT rolsuper, rolreplication FROM pg_roles WHERE rolname = '${ROLE}'`)).toBe('f|t');
    const plain = runAsPostgres('psql', ['-X', '-Atc', 'SELECT 1'], { ...pg.backupEnv(), PGSSLMODE: 'disable' });
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toMatch(/no pg_hba.conf entry|rejects connection/);
  });

  it('full backup: compressed base backup verified by pg_verifybackup, dump with snapshot row counts, checksums', () => {
    const r = ok('full-backup.sh');
    expect(r.stderr).toMatch(/pg_verifybackup: backup \S+ verified/);
    const ids = readdirSync(join(backupDir, 'full')).filter((d) => !d.startsWith('.'));
    expect(ids).toHaveLength(1);
    const dir = join(backupDir, 'full', ids[0]!);
    expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', 'app.dump', 'backup.info', 'backup_manifest', 'base.tar.gz', 'counts.tsv']);
    expect(readFileSync(join(dir, 'backup.info'), 'utf8')).toMatch(/^status=ok$/m);
    expect(readFileSync(join(dir, 'counts.tsv'), 'utf8')).toContain('public.accounts\t5000\n');
    expect(readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n')).toHaveLength(4);
    // The WAL slot exists before the base backup started, reserving WAL.
    expect(pg.sql(`SELECT slot_type, restart_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'bitpin_backup'`)).toBe('physical|t');
  });

  it('incremental runs archive every write, across a primary restart, without a gap', async () => {
    write('w1');
    ok('incremental-backup.sh');
    await sleep(1100);
    write('w2');
    ok('incremental-backup.sh');
    pg.ctl('restart'); // between two runs
    await sleep(1100);
    write('w3');
    const r3 = ok('incremental-backup.sh', { BACKUP_VOLUME_WARN_RATIO: '0.001' });
    expect(r3.stderr).toMatch(/WARNING backup volume .* is [\d.]+% full \(warning at 0.1%\)/);
    await sleep(1100);
    write('w4');
    const r4 = ok('incremental-backup.sh');
    expect(r4.stderr).toMatch(/switched=yes/);
    expect(r4.stderr).toMatch(/check passed/);
    const log = readFileSync(join(backupDir, 'incremental.log'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(4);
    expect(log.every((l) => /^run_id=\S+ lsn=[0-9A-F]+\/[0-9A-F]+ time=\S+ epoch=\d+ switched=yes sentinel_id=\d+ sentinel_count=\d+ sentinel_md5=[0-9a-f]{32} mode=fallback$/.test(l))).toBe(true);
    expect(ok('check.sh').stderr).toMatch(/check passed: 1 full backup/);
  });

  it('restores to a time between two writes (across the restart) with exactly the rows up to then', () => {
    const { socket, data } = restoreTo(between('w2', 'w3'), 'pitr-w2');
    try {
      expect(sqlAt(socket, 5432, 'app', `SELECT string_agg(label || ':' || n, ',' ORDER BY id) FROM drill.events`)).toBe('w1:1,w1:2,w1:3,w2:1,w2:2,w2:3');
      expect(sqlAt(socket, 5432, 'app', 'SELECT count(*), sum(balance) FROM public.accounts')).toBe('5000|125025000');
    } finally {
      stopAt(data);
    }
  });

  it('a point-in-time export loads into a database as the app owner (the restore Job with load)', () => {
    const dump = join(work, 'exports', 'app.dump');
    ownedDir(join(work, 'exports'));
    const data = join(ownedDir(join(work, 'pitr-export')), 'pgdata');
    ok('restore.sh', { RESTORE_PGDATA: data, RESTORE_TARGET_TIME: between('w2', 'w3'), RESTORE_EXPORT_DUMP: dump, RESTORE_SOCKET_DIR: ownedDir(join(work, 'pitr-export', 'sock')) });
    pg.sql('CREATE DATABASE app_restored OWNER app', 'postgres');
    ok('restore.sh', { ...pg.appEnv(), RESTORE_MODE: 'logical', RESTORE_DUMP: dump, RESTORE_DBNAME: 'app_restored' });
    expect(pg.sql(`SELECT string_agg(DISTINCT label, ',') FROM drill.events`, 'app_restored')).toBe('w1,w2');
    // A full backup's own dump restores with its row counts checked, replacing what is there.
    const r = ok('restore.sh', { ...pg.appEnv(), RESTORE_MODE: 'logical', RESTORE_DBNAME: 'app_restored' });
    expect(r.stderr).toMatch(/row counts match the dump's snapshot for 2 table\(s\)/);
    expect(pg.sql('SELECT count(*) FROM drill.events', 'app_restored')).toBe('0');
  });

  it('restores to a time between the last two writes with exactly the rows up to then', () => {
    const { socket, data } = restoreTo(between('w3', 'w4'), 'pitr-w3');
    try {
      expect(sqlAt(socket, 5432, 'app', `SELECT string_agg(DISTINCT label, ',') FROM drill.events`)).toBe('w1,w2,w3');
      expect(sqlAt(socket, 5432, 'app', 'SELECT count(*) FROM drill.events')).toBe('9');
    } finally {
      stopAt(data);
    }
  });

  it('refuses a target after the newest archived WAL, naming the newest restorable time', () => {
    const r = run('restore.sh', { RESTORE_PGDATA: join(work, 'too-late'), RESTORE_TARGET_TIME: new Date(Date.now() + 3600_000).toISOString() });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/is after the newest archived WAL \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/);
  });

  it('weekly verification restores the newest backup and checks the sentinel and row counts', () => {
    const r = ok('verify-restore.sh');
    expect(r.stderr).toMatch(/restore verification passed/);
    const report = readFileSync(join(backupDir, 'verify', 'last.txt'), 'utf8');
    expect(report).toMatch(/^sentinel expected="(\d+ [0-9a-f]{32})" restored="\1"$/m);
    expect(report).toContain('physical_rows public.accounts\t5000');
    expect(report).toContain('physical_rows drill.events\t12');
    expect(report).toMatch(/^logical=ok tables=2 /m);
    expect(report).toMatch(/^status=ok /m);
  });

  it('fails the verification loudly when the sentinel does not match', () => {
    const copy = copyBackup('bad-sentinel');
    const logPath = join(copy, 'incremental.log');
    writeFileSync(logPath, readFileSync(logPath, 'utf8').replace(/sentinel_md5=[0-9a-f]{32}( mode=\w+)?\n$/, (_m, mode?: string) => `sentinel_md5=${'0'.repeat(32)}${mode ?? ''}\n`));
    const r = run('verify-restore.sh', { BACKUP_DIR: copy });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/sentinel mismatch/);
    expect(r.stderr).toMatch(/RESTORE VERIFICATION FAILED/);
  });

  it('detects a corrupted base backup file (check and restore both fail)', () => {
    const copy = copyBackup('corrupt');
    const base = join(copy, 'full', onlyBackup(copy), 'base.tar.gz');
    const bytes = readFileSync(base);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(base, bytes);
    const c = run('check.sh', { BACKUP_DIR: copy });
    expect(c.status).toBe(1);
    expect(c.stderr).toMatch(/base\.tar\.gz is corrupted \(SHA-256 mismatch\)/);
    // The restore reads the archive once: the damage shows while it is unpacked, and the partly
    // extracted data directory is removed.
    const r = run('restore.sh', { BACKUP_DIR: copy, RESTORE_PGDATA: join(work, 'corrupt-restore') });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/cannot extract .*base\.tar\.gz|base\.tar\.gz is corrupted/);
    expect(existsSync(join(work, 'corrupt-restore'))).toBe(false);
  });

  it('restores nothing from an archive that unpacks cleanly but is not the one recorded (SHA-256 taken while extracting)', () => {
    const copy = copyBackup('repacked');
    repack(copy, () => undefined, { updateSum: false }); // the same files, other bytes
    const data = join(ownedDir(join(work, 'repacked-restore')), 'pgdata');
    const r = run('restore.sh', { BACKUP_DIR: copy, RESTORE_PGDATA: data });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/base\.tar\.gz is corrupted \(SHA-256 [0-9a-f]{64}, SHA256SUMS has [0-9a-f]{64}\); nothing restored/);
    expect(existsSync(data)).toBe(false);
  });

  it('rejects an extracted copy that lacks a file of the manifest, even with a matching archive checksum', () => {
    const copy = copyBackup('short');
    let gone = '';
    repack(copy, (tree) => {
      gone = `base/1/${firstFile(join(tree, 'base', '1'))}`;
      unlinkSync(join(tree, gone));
    });
    const data = join(ownedDir(join(work, 'short-restore')), 'pgdata');
    const r = run('restore.sh', { BACKUP_DIR: copy, RESTORE_PGDATA: data });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`"${gone}" is present in the manifest but not on disk`);
    expect(r.stderr).toMatch(/pg_verifybackup rejected the restored copy/);
    expect(existsSync(data)).toBe(false);
  });

  it('RESTORE_VERIFY=full checks every extracted file against the manifest checksums', () => {
    const copy = copyBackup('altered');
    let changed = '';
    repack(copy, (tree) => {
      changed = `base/1/${firstFile(join(tree, 'base', '1'))}`;
      const bytes = readFileSync(join(tree, changed));
      bytes[0]! ^= 0xff; // same size: only a checksum sees it
      writeFileSync(join(tree, changed), bytes);
    });
    const data = join(ownedDir(join(work, 'altered-restore')), 'pgdata');
    const r = run('restore.sh', { BACKUP_DIR: copy, RESTORE_PGDATA: data, RESTORE_VERIFY: 'full' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`checksum mismatch for file "${changed}"`);
    expect(existsSync(data)).toBe(false);
  });

  it('a logical restore whose row counts differ from the dump\'s snapshot rolls back: nothing changes', () => {
    const copy = copyBackup('bad-counts');
    const dir = join(copy, 'full', onlyBackup(copy));
    writeFileSync(join(dir, 'counts.tsv'), readFileSync(join(dir, 'counts.tsv'), 'utf8').replace('public.accounts\t5000\n', 'public.accounts\t4999\n'));
    setSum(dir, 'counts.tsv');
    pg.sql('CREATE DATABASE app_counts OWNER app', 'postgres');
    pg.sql('CREATE TABLE public.accounts (id int PRIMARY KEY); INSERT INTO public.accounts VALUES (1); ALTER TABLE public.accounts OWNER TO app', 'app_counts');
    const r = run('restore.sh', { ...pg.appEnv(), BACKUP_DIR: copy, RESTORE_MODE: 'logical', RESTORE_DBNAME: 'app_counts' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/row counts differ from the counts taken with the dump:\s+public\.accounts: 5000, the backup has 4999/);
    expect(r.stderr).toMatch(/rolled back, nothing changed/);
    // --clean would have replaced the table: it is the old one, with its one row.
    expect(pg.sql('SELECT count(*) FROM public.accounts', 'app_counts')).toBe('1');
  });

  it('a dump with large objects is restored by pg_restore itself, in one transaction', () => {
    pg.sql('CREATE DATABASE lo_src OWNER app', 'postgres');
    pg.sql(`CREATE TABLE public.docs (id int PRIMARY KEY, body oid); INSERT INTO public.docs VALUES (1, lo_from_bytea(0, 'large object body'))`, 'lo_src');
    const dump = join(ownedDir(join(work, 'lo')), 'lo.dump');
    const d = runAsPostgres('pg_dump', ['-h', pg.socketDir, '-p', String(pg.port), '-U', 'postgres', '-Fc', '-f', dump, 'lo_src']);
    expect(d.status).toBe(0);
    pg.sql('CREATE DATABASE lo_dst OWNER app', 'postgres');
    const r = ok('restore.sh', { ...pg.appEnv(), RESTORE_MODE: 'logical', RESTORE_DUMP: dump, RESTORE_DBNAME: 'lo_dst' });
    expect(r.stderr).toMatch(/large objects: one pg_restore transaction/);
    expect(pg.sql('SELECT convert_from(lo_get(body), \'UTF8\') FROM public.docs', 'lo_dst')).toBe('large object body');
  });

  it('detects a missing backup file and a missing WAL segment', () => {
    const copy = copyBackup('missing');
    unlinkSync(join(copy, 'full', onlyBackup(copy), 'backup_manifest'));
    const segments = readdirSync(join(copy, 'wal')).filter((f) => /^[0-9A-F]{24}\.gz$/.test(f)).sort();
    expect(segments.length).toBeGreaterThan(3);
    const gone = segments[Math.floor(segments.length / 2)]!;
    unlinkSync(join(copy, 'wal', gone));
    const c = run('check.sh', { BACKUP_DIR: copy });
    expect(c.status).toBe(1);
    expect(c.stderr).toMatch(/backup_manifest is missing/);
    expect(c.stderr).toContain(`WAL ${gone} is missing`);
    expect(c.stderr).toMatch(/WAL archive has a gap: 1 segment\(s\) missing/);
    const r = run('restore.sh', { BACKUP_DIR: copy, RESTORE_PGDATA: join(work, 'missing-restore') });
    expect(r.status).not.toBe(0);
  });

  it('stops recovery loudly on a damaged WAL segment instead of ending early', () => {
    const copy = copyBackup('damaged-wal');
    const sums = join(copy, 'wal', 'SHA256SUMS');
    const segments = readdirSync(join(copy, 'wal')).filter((f) => /^[0-9A-F]{24}\.gz$/.test(f)).sort();
    const victim = segments.at(-1)!;
    writeFileSync(join(copy, 'wal', victim), 'not gzip at all');
    // Hide it from the checksum list, so only the restore_command can notice.
    writeFileSync(sums, readFileSync(sums, 'utf8').split('\n').filter((l) => !l.endsWith(` ${victim}`)).join('\n'));
    const r = run('restore.sh', { BACKUP_DIR: copy, RESTORE_PGDATA: join(work, 'damaged-restore'), RESTORE_SOCKET_DIR: ownedDir(join(work, 'damaged-sock')) });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/stopped during recovery|did not start/);
    expect(r.stderr).toMatch(/000000010000000000000\w+\.gz: not in gzip format/);
  });

  it('fails a run with a wrong password, an unknown CA or an unreachable server, publishing nothing', () => {
    const before = readdirSync(join(backupDir, 'full'));
    const badPw = run('incremental-backup.sh', { PGPASSWORD: 'wrong' });
    expect(badPw.status).not.toBe(0);
    expect(badPw.stderr).toMatch(/password authentication failed/);
    const badCa = run('full-backup.sh', { PGSSLROOTCERT: pg.tls.otherCaCert });
    expect(badCa.status).not.toBe(0);
    expect(badCa.stderr).toMatch(/certificate verify failed/);
    const down = run('full-backup.sh', { PGPORT: '1' });
    expect(down.status).not.toBe(0);
    expect(down.stderr).toMatch(/failed \(exit \d+\); nothing was published/);
    expect(readdirSync(join(backupDir, 'full'))).toEqual(before);
  });

  it('without EXECUTE on pg_switch_wal: auto archives the open segment as .partial, required fails', () => {
    pg.sql(`REVOKE EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() FROM ${ROLE}`);
    try {
      write('w5');
      const auto = ok('incremental-backup.sh');
      expect(auto.stderr).toMatch(/may not call pg_switch_wal/);
      expect(auto.stderr).toMatch(/switched=no/);
      expect(readdirSync(join(backupDir, 'wal')).some((f) => f.endsWith('.partial'))).toBe(true);
      const required = run('incremental-backup.sh', { BACKUP_SWITCH_WAL: 'required' });
      expect(required.status).not.toBe(0);
      expect(required.stderr).toMatch(/pg_switch_wal\(\) failed: .*permission denied/);
    } finally {
      pg.sql(backupRoleSetupSql({ role: ROLE, database: 'app' }));
    }
    // The .partial segment restores: the newest write is there at "latest".
    const data = join(ownedDir(join(work, 'latest')), 'pgdata');
    const socket = ownedDir(join(work, 'latest', 'sock'));
    ok('restore.sh', { RESTORE_PGDATA: data, RESTORE_KEEP_RUNNING: 'true', RESTORE_SOCKET_DIR: socket, RESTORE_PORT: '5432' });
    try {
      expect(sqlAt(socket, 5432, 'app', `SELECT string_agg(DISTINCT label, ',') FROM drill.events`)).toBe('w1,w2,w3,w4,w5');
    } finally {
      stopAt(data);
    }
  });

  function copyBackup(name: string): string {
    const dest = join(work, `copy-${name}`);
    cpSync(backupDir, dest, { recursive: true });
    if (isRoot) execFileSync('chown', ['-R', `${serverUser.uid}:${serverUser.gid}`, dest]);
    return dest;
  }
  /** SHA256SUMS of a backup directory records the current content of `name`. */
  function setSum(dir: string, name: string): void {
    const sum = createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');
    const sums = join(dir, 'SHA256SUMS');
    writeFileSync(sums, readFileSync(sums, 'utf8').replace(new RegExp(`^[0-9a-f]{64}  ${name.replace('.', '\\.')}$`, 'm'), `${sum}  ${name}`));
  }
  /** Unpacks the copy's base.tar.gz, lets `edit` change the tree, packs it again (GNU tar + gzip). */
  function repack(copy: string, edit: (tree: string) => void, { updateSum = true } = {}): void {
    const dir = join(copy, 'full', onlyBackup(copy));
    const base = join(dir, 'base.tar.gz');
    const tree = mkdtempSync(join(work, 'tree-'));
    try {
      execFileSync('tar', ['-xzf', base, '-C', tree]);
      edit(tree);
      execFileSync('bash', ['-c', 'tar -cf - -C "$1" . | gzip -1 >"$2"', '_', tree, base]);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
    if (updateSum) setSum(dir, 'base.tar.gz');
    if (isRoot) execFileSync('chown', ['-R', `${serverUser.uid}:${serverUser.gid}`, copy]);
  }
  function firstFile(dir: string): string {
    return readdirSync(dir).filter((f) => /^\d+$/.test(f) && statSync(join(dir, f)).size > 0).sort()[0]!;
  }
  function onlyBackup(dir: string): string {
    return readdirSync(join(dir, 'full')).filter((d) => !d.startsWith('.'))[0]!;
  }
});
