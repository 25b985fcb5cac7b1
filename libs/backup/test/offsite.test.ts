/**
 * The encrypted off-site copy and the restore-time edges, on a real PostgreSQL 15 primary and a
 * real S3-compatible store (SeaweedFS built from its Go module, test/support/seaweedfs.ts): the
 * scripts run as the CronJobs and restore Jobs run them (non-root, the backup role over TLS,
 * rclone configured from the environment only).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, isRoot, ownedDir, ownedTempDir, runAsPostgres, sqlAt, stopAt, type RunResult } from '@bitpin/test-support';
import { backupRoleSetupSql, scriptPath, type ScriptFile } from '../src/index.js';
import { Primary } from './support/postgres.js';
import { describeWithSeaweedfs, SeaweedS3 } from './support/seaweedfs.js';

const ROLE = 'bitpin_backup';
const PASSWORD = 'offsite-drill-pw';
const CRYPT_PASSWORD = 'crypt-pass-do-not-print-7f3a';
const CRYPT_SALT = 'crypt-salt-do-not-print-91c2';
const BUCKET = 'bitpin-offsite';
const PREFIX = 'drill';

describeWithSeaweedfs()('off-site copy (SeaweedFS S3)', () => {
  describeWithPostgres(['pg_receivewal', 'pg_basebackup', 'pg_dump'])('encrypted off-site copy and restore edges on a real PostgreSQL 15 primary', { timeout: 300_000 }, () => {
    let pg: Primary;
    let s3: SeaweedS3;
    let work: string;
    let backupDir: string;
    const writes: { label: string; before: number; after: number }[] = [];

    const offsiteEnv = (): Record<string, string> => ({
      BACKUP_OFFSITE_ENDPOINT: s3.endpoint,
      BACKUP_OFFSITE_BUCKET: BUCKET,
      BACKUP_OFFSITE_PREFIX: PREFIX,
      BACKUP_OFFSITE_REGION: 'us-east-1',
      BACKUP_OFFSITE_ACCESS_KEY_ID: s3.accessKey,
      BACKUP_OFFSITE_SECRET_ACCESS_KEY: s3.secretKey,
      BACKUP_OFFSITE_PASSWORD: CRYPT_PASSWORD,
      BACKUP_OFFSITE_SALT: CRYPT_SALT,
      BACKUP_OFFSITE_KEEP_FULL: '3',
    });
    function run(script: ScriptFile, env: Record<string, string> = {}, args: string[] = []): RunResult {
      return runAsPostgres('bash', [scriptPath(script), ...args], { ...pg.backupEnv(), BACKUP_DIR: backupDir, ...offsiteEnv(), ...env }, 240_000);
    }
    function ok(script: ScriptFile, env: Record<string, string> = {}, args: string[] = []): RunResult {
      const r = run(script, env, args);
      if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
      return r;
    }
    /** rclone on the raw bucket (no decryption): what the object store itself holds. */
    function raw(args: string[], input?: Buffer): Buffer {
      return execFileSync('rclone', args, {
        input,
        maxBuffer: 256 * 2 ** 20,
        // Not the test's own environment: its CA bundle variables (AWS_CA_BUNDLE, …) break rclone's s3 client.
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: process.env['HOME'] ?? '/tmp',
          RCLONE_CONFIG: '',
          RCLONE_CONFIG_RAW_TYPE: 's3',
          RCLONE_CONFIG_RAW_PROVIDER: 'Other',
          RCLONE_CONFIG_RAW_ENDPOINT: s3.endpoint,
          RCLONE_CONFIG_RAW_ACCESS_KEY_ID: s3.accessKey,
          RCLONE_CONFIG_RAW_SECRET_ACCESS_KEY: s3.secretKey,
          RCLONE_CONFIG_RAW_FORCE_PATH_STYLE: 'true',
          RCLONE_CONFIG_RAW_REGION: 'us-east-1',
          RCLONE_CONFIG_DEC_TYPE: 'crypt',
          RCLONE_CONFIG_DEC_REMOTE: `raw:${BUCKET}/${PREFIX}`,
          RCLONE_CONFIG_DEC_PASSWORD: execFileSync('rclone', ['obscure', '-'], { input: CRYPT_PASSWORD, encoding: 'utf8' }).trim(),
          RCLONE_CONFIG_DEC_PASSWORD2: execFileSync('rclone', ['obscure', '-'], { input: CRYPT_SALT, encoding: 'utf8' }).trim(),
        },
      });
    }
    /** Replaces a stored object with these bytes (a plain single-part upload: the store keeps its MD5). */
    function putRaw(key: string, bytes: Buffer): void {
      const dir = mkdtempSync(join(tmpdir(), 'bitpin-offsite-raw-'));
      try {
        writeFileSync(join(dir, 'obj'), bytes);
        raw(['copyto', join(dir, 'obj'), key]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    /** The raw object key (encrypted name) of a file of the off-site copy. */
    const rawKey = (path: string) => `raw:${BUCKET}/${PREFIX}/${raw(['cryptdecode', '--reverse', 'dec:', path]).toString('utf8').trim().split(/\s+/).pop()}`;
    const offsiteFiles = () => raw(['lsf', '-R', '--files-only', 'dec:']).toString('utf8').trim().split('\n').filter(Boolean);

    const serverNow = () => Date.parse(pg.sql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    function write(label: string): void {
      const before = serverNow();
      pg.sql(`INSERT INTO drill.events (label, n) SELECT '${label}', g FROM generate_series(1, 3) g`);
      writes.push({ label, before, after: serverNow() });
    }
    function between(a: string, b: string): string {
      const wa = writes.find((w) => w.label === a)!;
      const wb = writes.find((w) => w.label === b)!;
      expect(wb.before - wa.after).toBeGreaterThan(500);
      return new Date(Math.round((wa.after + wb.before) / 2)).toISOString();
    }
    const countAt = (socket: string, table = 'drill.events') => Number(sqlAt(socket, 5432, 'app', `SELECT count(*) FROM ${table}`));
    /** A fresh data directory and socket for a restore named `name`. */
    function target(name: string): { data: string; socket: string } {
      return { data: join(ownedDir(join(work, name)), 'pgdata'), socket: ownedDir(join(work, name, 'sock')) };
    }
    function restoreEnv(t: { data: string; socket: string }, targetTime: string, extra: Record<string, string> = {}): Record<string, string> {
      return { RESTORE_PGDATA: t.data, RESTORE_TARGET_TIME: targetTime, RESTORE_KEEP_RUNNING: 'true', RESTORE_SOCKET_DIR: t.socket, RESTORE_PORT: '5432', BACKUP_SCRATCH_DIR: ownedDir(join(work, 'scratch')), ...extra };
    }
    /** Microseconds of an ISO time with 6 fractional digits (as the scripts record them). */
    const usOf = (iso: string) => {
      const m = /^(.*T\d\d:\d\d:\d\d)\.(\d{6})Z$/.exec(iso)!;
      return Date.parse(`${m[1]}Z`) * 1000 + Number(m[2]);
    };
    const isoOfUs = (us: number) => `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;

    beforeAll(async () => {
      [pg, s3] = await Promise.all([Primary.start({ backupRole: ROLE, backupPassword: PASSWORD }), SeaweedS3.start()]);
      work = ownedTempDir('bitpin-offsite-');
      backupDir = ownedDir(join(work, 'backup'), 0o750);
      pg.sql(`CREATE ROLE app LOGIN PASSWORD 'app-pw'`, 'postgres');
      pg.sql('CREATE DATABASE app OWNER app', 'postgres');
      pg.sql(`CREATE ROLE ${ROLE} LOGIN REPLICATION PASSWORD '${PASSWORD}'`, 'postgres');
      pg.sql(backupRoleSetupSql({ role: ROLE, database: 'app' }));
      pg.sql(`CREATE TABLE public.accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL);
              INSERT INTO public.accounts SELECT g, md5(g::text), g * 10 FROM generate_series(1, 3000) g;
              CREATE SCHEMA drill;
              CREATE TABLE drill.events (id serial PRIMARY KEY, label text NOT NULL, n int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());`);
    }, 180_000);

    afterAll(async () => {
      pg?.destroy();
      await s3?.destroy();
      if (work) {
        // Restored instances left running by restoreEnv (RESTORE_KEEP_RUNNING).
        for (const d of readdirSync(work)) if (existsSync(join(work, d, 'pgdata', 'postmaster.pid'))) stopAt(join(work, d, 'pgdata'), 'immediate');
        rmSync(work, { recursive: true, force: true });
      }
    }, 60_000);

    it('uploads every published full backup and WAL file, encrypted (names and contents), printing no secret', async () => {
      ok('full-backup.sh');
      write('w1');
      ok('incremental-backup.sh');
      await sleep(1100);
      write('w2');
      ok('incremental-backup.sh');
      const r = ok('offsite.sh', {}, ['upload']);
      expect(r.stderr).toMatch(/off-site copy up to date: 5 full backup file\(s\) and \d+ WAL file\(s\) uploaded/);
      for (const secret of [CRYPT_PASSWORD, CRYPT_SALT, s3.secretKey]) expect(r.stdout + r.stderr).not.toContain(secret);
      const files = offsiteFiles();
      const id = readdirSync(join(backupDir, 'full')).find((d) => !d.startsWith('.'))!;
      expect(files).toEqual(expect.arrayContaining([`full/${id}/base.tar.gz`, `full/${id}/backup.info`, `full/${id}/SHA256SUMS`, 'incremental.log', 'wal/SHA256SUMS']));
      // Every checksummed WAL file from the backup's start on (what the copy keeps); none before it.
      const start = /^start_wal=(\S+)$/m.exec(readFileSync(join(backupDir, 'full', id, 'backup.info'), 'utf8'))![1]!;
      const walLocal = readFileSync(join(backupDir, 'wal', 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/)[1]!);
      const needed = walLocal.filter((n) => !/^[0-9A-F]{24}/.test(n) || n.slice(8, 24) >= start.slice(8));
      expect(needed.length).toBeGreaterThan(0);
      expect(files).toEqual(expect.arrayContaining(needed.map((n) => `wal/${n}`)));
      expect(files.filter((f) => /^wal\/[0-9A-F]{24}/.test(f) && f.slice(12, 28) < start.slice(8))).toEqual([]);
      // What the store holds: no readable name, and no byte of the plain file.
      const rawNames = raw(['lsf', '-R', '--files-only', `raw:${BUCKET}/${PREFIX}`]).toString('utf8');
      expect(rawNames).not.toMatch(/base\.tar|backup\.info|SHA256SUMS|incremental|full\/|wal\//);
      const plain = readFileSync(join(backupDir, 'full', id, 'backup.info'));
      const stored = raw(['cat', rawKey(`full/${id}/backup.info`)]);
      expect(stored.subarray(0, 8).toString('latin1')).toBe('RCLONE\0\0');
      expect(stored.includes(plain.subarray(0, 16))).toBe(false);
      // A second run has nothing to do.
      expect(ok('offsite.sh', {}, ['upload']).stderr).toMatch(/to upload: 0 full backup file\(s\), 0 WAL file\(s\)/);
    });

    it('object store down for a while: the run fails and says how far behind; the next run catches up, nothing lost', async () => {
      await s3.stop();
      await sleep(1100);
      write('w3');
      ok('incremental-backup.sh'); // the local archive does not depend on the store
      const down = run('offsite.sh', { RCLONE_CONTIMEOUT: '2s', RCLONE_RETRIES: '1', RCLONE_LOW_LEVEL_RETRIES: '1' }, ['upload']);
      expect(down.status).not.toBe(0);
      expect(down.stderr).toMatch(/cannot list the off-site copy at http:\/\/127\.0\.0\.1:\d+ bucket bitpin-offsite/);
      await s3.start();
      await sleep(1100);
      write('w4');
      ok('incremental-backup.sh');
      const up = ok('offsite.sh', {}, ['upload']);
      expect(up.stderr).toMatch(/to upload: 0 full backup file\(s\), [1-9]\d* WAL file\(s\)/);
      expect(up.stderr).toMatch(/off-site copy up to date/);
      const log = readFileSync(join(backupDir, 'offsite.log'), 'utf8').trim().split('\n');
      expect(log.at(-1)).toMatch(/status=ok pending=0/);
      // Every published file is off-site with the same contents (rclone cryptcheck).
      expect(ok('offsite.sh', {}, ['check']).stderr).toMatch(/off-site check passed \(cryptcheck\)/);
    });

    it('check: an off-site file with other contents is reported', () => {
      const sums = readFileSync(join(backupDir, 'wal', 'SHA256SUMS'), 'utf8').trim().split('\n');
      const seg = sums[sums.length - 1]!.split(/\s+/)[1]!;
      const key = rawKey(`wal/${seg}`);
      const original = raw(['cat', key]);
      const bad = Buffer.from(original);
      bad[bad.length - 40] = bad[bad.length - 40]! ^ 0xff;
      putRaw(key, bad);
      try {
        const r = run('offsite.sh', {}, ['check']);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/the off-site copy differs from the volume/);
      } finally {
        putRaw(key, original);
      }
      expect(ok('offsite.sh', {}, ['check']).stderr).toMatch(/off-site check passed/);
    });

    it('edge: a target inside the second of the newest archived WAL, after it, is refused up front (microsecond precision)', () => {
      const last = readFileSync(join(backupDir, 'incremental.log'), 'utf8').trim().split('\n').at(-1)!;
      const lastTime = /time=(\S+)/.exec(last)![1]!;
      const us = usOf(lastTime);
      // Same second, later microsecond (the old whole-second check let it through to PostgreSQL).
      const inSecond = us % 1_000_000 < 999_999 ? us + Math.max(1, Math.floor((999_999 - (us % 1_000_000)) / 2)) : us + 1;
      const t = target('edge-after-last');
      const r = run('restore.sh', restoreEnv(t, isoOfUs(inSecond)));
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/is after the newest archived WAL/);
      expect(existsSync(t.data)).toBe(false);
      expect(r.stderr).not.toMatch(/recovery ended before configured recovery target/);
    });

    it('edge: a target just after the base backup ended (same second) restores the backup state (microsecond precision)', () => {
      const id = readdirSync(join(backupDir, 'full')).find((d) => !d.startsWith('.'))!;
      const end = /^end_time=(\S+)$/m.exec(readFileSync(join(backupDir, 'full', id, 'backup.info'), 'utf8'))![1]!;
      const us = usOf(end) + 1;
      const w1 = writes.find((w) => w.label === 'w1')!;
      expect(w1.before * 1000).toBeGreaterThan(us); // nothing of the drill was written before it
      const t = target('edge-after-backup');
      const r = ok('restore.sh', restoreEnv(t, isoOfUs(us)));
      expect(r.stderr).toMatch(new RegExp(`restoring full backup ${id}`));
      expect(countAt(t.socket, 'public.accounts')).toBe(3000);
      expect(countAt(t.socket)).toBe(0);
      stopAt(t.data);
    });

    it('edge: a restore that fails after replay started removes its half replayed data directory (or keeps it, said unusable, on request)', () => {
      // A copy of the volume whose WAL segment after the backup's end is damaged after it was
      // checksummed: the up-front check passes (presence, continuity), replay starts, and the
      // segment's SHA-256 is refused when the server asks for it.
      const copy = ownedDir(join(work, 'damaged-volume'), 0o750);
      cpSync(backupDir, copy, { recursive: true });
      if (isRoot) execFileSync('chown', ['-R', 'postgres:postgres', copy]);
      const id = readdirSync(join(copy, 'full')).find((d) => !d.startsWith('.'))!;
      const info = readFileSync(join(copy, 'full', id, 'backup.info'), 'utf8');
      const endLsn = /^end_lsn=(\S+)$/m.exec(info)![1]!;
      const [hi, lo] = endLsn.split('/').map((x) => parseInt(x, 16));
      const seg = Math.floor((hi! * 2 ** 32 + lo!) / 16777216) + 1;
      const name = readdirSync(join(copy, 'wal')).find((f) => /^[0-9A-F]{24}\.gz$/.test(f) && parseInt(f.slice(8, 16), 16) * 256 + parseInt(f.slice(16, 24), 16) === seg)!;
      expect(name).toBeDefined();
      const file = join(copy, 'wal', name);
      const bytes = readFileSync(file);
      bytes[Math.floor(bytes.length / 2)] = bytes[Math.floor(bytes.length / 2)]! ^ 0xff;
      writeFileSync(file, bytes);
      for (const keep of [false, true]) {
        const t = target(`failed-replay-${keep}`);
        const r = run('restore.sh', { ...restoreEnv(t, between('w3', 'w4')), BACKUP_DIR: copy, RESTORE_SOURCE: 'local', ...(keep ? { RESTORE_KEEP_FAILED: 'true' } : {}) });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(new RegExp(`${name}.*does not match its SHA-256`));
        if (keep) {
          expect(r.stderr).toMatch(/failed after replay started .* is kept \(RESTORE_KEEP_FAILED=true\) and is UNUSABLE/);
          expect(existsSync(join(t.data, 'PG_VERSION'))).toBe(true);
          expect(existsSync(join(t.data, 'postmaster.pid'))).toBe(false); // the instance was stopped
        } else {
          expect(r.stderr).toMatch(/failed after replay started .* \(half replayed, unusable\) was removed/);
          expect(existsSync(t.data)).toBe(false);
        }
      }
    });

    it('a flipped byte in an uploaded (encrypted) object fails the off-site restore loudly, before replay', () => {
      const id = readdirSync(join(backupDir, 'full')).find((d) => !d.startsWith('.'))!;
      const key = rawKey(`full/${id}/base.tar.gz`);
      const original = raw(['cat', key]);
      const bad = Buffer.from(original);
      bad[Math.floor(bad.length / 2)] = bad[Math.floor(bad.length / 2)]! ^ 0x01;
      putRaw(key, bad);
      try {
        const t = target('offsite-flipped');
        const r = run('restore.sh', { ...restoreEnv(t, between('w2', 'w3')), RESTORE_SOURCE: 'offsite', RCLONE_RETRIES: '1' });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/failed to authenticate decrypted block/);
        expect(r.stderr).toMatch(/downloading full backup \S+ and its WAL from the off-site copy failed/);
        expect(r.stderr).not.toMatch(/replay|recovery of/);
        expect(existsSync(t.data)).toBe(false);
        expect(readdirSync(join(work, 'scratch')).filter((d) => d.startsWith('offsite-fetch'))).toEqual([]); // the download is removed
      } finally {
        putRaw(key, original);
      }
    });

    it('cluster gone: with the backup directory deleted entirely, the off-site copy alone restores to a time between two writes, downloading only what the target needs', async () => {
      // Two more runs after the target's, so the copy holds WAL the target does not need.
      for (const label of ['w5', 'w6']) {
        await sleep(1100);
        write(label);
        ok('incremental-backup.sh');
      }
      ok('offsite.sh', {}, ['upload']);
      const remoteWal = offsiteFiles().filter((f) => /^wal\/[0-9A-F]{24}/.test(f)).length;
      rmSync(backupDir, { recursive: true, force: true });
      // The runbook's procedure (docs/runbooks/restore.md, "The cluster is gone"): BACKUP_DIR
      // names nothing, BACKUP_OFFSITE_* and the key come from the Secret, restore.sh does the rest.
      const t = target('offsite-restore');
      const r = ok('restore.sh', { ...restoreEnv(t, between('w2', 'w3')), BACKUP_DIR: '' });
      expect(r.stderr).toMatch(/no good full backup in <BACKUP_DIR unset>\/full: restoring from the off-site copy/);
      const fetched = /fetched full backup \S+ and (\d+) WAL file\(s\)/.exec(r.stderr);
      expect(fetched).not.toBeNull();
      expect(Number(fetched![1])).toBeGreaterThan(0);
      expect(Number(fetched![1])).toBeLessThan(remoteWal); // not the WAL after the target's run
      expect(r.stderr).toMatch(/check passed: 1 full backup/);
      expect(countAt(t.socket)).toBe(6); // w1 + w2, exactly
      expect(sqlAt(t.socket, 5432, 'app', `SELECT string_agg(DISTINCT label, ',' ORDER BY label) FROM drill.events`)).toBe('w1,w2');
      expect(countAt(t.socket, 'public.accounts')).toBe(3000);
      stopAt(t.data);
      expect(readdirSync(join(work, 'scratch')).filter((d) => d.startsWith('offsite-fetch'))).toEqual([]);
    });

    it('off-site retention keeps the newest BACKUP_OFFSITE_KEEP_FULL full backups and the WAL they need', () => {
      backupDir = ownedDir(join(work, 'backup2'), 0o750);
      const before = offsiteFiles();
      const oldIds = [...new Set(before.filter((f) => f.startsWith('full/')).map((f) => f.split('/')[1]))];
      ok('full-backup.sh');
      ok('incremental-backup.sh');
      const r = ok('offsite.sh', { BACKUP_OFFSITE_KEEP_FULL: '1' }, ['upload']);
      expect(r.stderr).toMatch(/off-site retention: 1 full backup\(s\) kept/);
      const after = offsiteFiles();
      const ids = [...new Set(after.filter((f) => f.startsWith('full/')).map((f) => f.split('/')[1]))];
      expect(ids).toHaveLength(1);
      expect(oldIds).not.toContain(ids[0]);
      const start = /^start_wal=(\S+)$/m.exec(readFileSync(join(backupDir, 'full', ids[0]!, 'backup.info'), 'utf8'))![1]!;
      const segs = after.filter((f) => /^wal\/[0-9A-F]{24}/.test(f)).map((f) => f.slice(4, 28));
      expect(segs.every((s) => s.slice(8) >= start.slice(8))).toBe(true);
    });
  });
});
