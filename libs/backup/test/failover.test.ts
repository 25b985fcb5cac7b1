/**
 * A failover between two incremental runs, on real PostgreSQL 15: a streaming standby with its
 * own copy of the WAL slot (what CloudNativePG's slot synchronisation provides) is promoted to a
 * new timeline; the next run archives from it without a gap, and restores replay across the
 * timeline switch with exactly the rows written before and after.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { backupRoleSetupSql, scriptPath, type ScriptFile } from '../src/index.js';
import { describeWithPostgres, ownedDir, ownedTempDir, runAsPostgres, sqlAt, stopAt } from '@bitpin/test-support';
import { Primary } from './support/postgres.js';

const ROLE = 'bitpin_backup';
const PASSWORD = 'failover-pw';

describeWithPostgres(['pg_receivewal', 'pg_basebackup'])('failover between two incremental runs', { timeout: 180_000 }, () => {
  let primary: Primary;
  let standby: Primary | undefined;
  let work: string;
  let backupDir: string;
  const marks: Record<string, number> = {};

  function ok(script: ScriptFile, server: Primary, env: Record<string, string> = {}) {
    const r = runAsPostgres('bash', [scriptPath(script)], { ...server.backupEnv(), BACKUP_DIR: backupDir, ...env });
    if (r.status !== 0) throw new Error(`${script} exited ${r.status}:\n${r.stderr}`);
    return r;
  }
  const now = (s: Primary) => Date.parse(s.sql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function write(s: Primary, label: string) {
    await sleep(1100);
    marks[`${label}:before`] = now(s);
    s.sql(`INSERT INTO events (label) VALUES ('${label}')`);
    marks[`${label}:after`] = now(s);
  }
  async function caughtUp(p: Primary, s: Primary) {
    const target = p.sql('SELECT pg_current_wal_lsn()');
    for (let i = 0; i < 100; i++) {
      if (s.sql(`SELECT pg_last_wal_replay_lsn() >= '${target}'::pg_lsn`) === 't') return;
      await sleep(100);
    }
    throw new Error('the standby did not catch up');
  }
  function restore(name: string, env: Record<string, string>) {
    const data = join(ownedDir(join(work, name)), 'pgdata');
    const socket = ownedDir(join(work, name, 'sock'));
    ok('restore.sh', primary, { RESTORE_PGDATA: data, RESTORE_KEEP_RUNNING: 'true', RESTORE_SOCKET_DIR: socket, RESTORE_PORT: '5432', ...env });
    try {
      return {
        labels: sqlAt(socket, 5432, 'app', `SELECT string_agg(label, ',' ORDER BY id) FROM events`),
        timeline: Number(sqlAt(socket, 5432, 'app', 'SELECT timeline_id FROM pg_control_checkpoint()')),
      };
    } finally {
      stopAt(data);
    }
  }

  beforeAll(async () => {
    primary = await Primary.start({ backupRole: ROLE, backupPassword: PASSWORD });
    work = ownedTempDir('bitpin-failover-');
    backupDir = ownedDir(join(work, 'backup'), 0o750);
    primary.sql('CREATE DATABASE app', 'postgres');
    primary.sql(`CREATE ROLE ${ROLE} LOGIN REPLICATION PASSWORD '${PASSWORD}'`, 'postgres');
    primary.sql(backupRoleSetupSql({ role: ROLE, database: 'app' }));
    primary.sql(`CREATE TABLE events (id serial PRIMARY KEY, label text NOT NULL)`);
  }, 120_000);

  afterAll(() => {
    standby?.destroy();
    primary?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('archives across the promotion of a standby and restores across the new timeline', async () => {
    ok('full-backup.sh', primary);
    await write(primary, 'a');
    ok('incremental-backup.sh', primary);

    // The standby and its copy of the slot, as CloudNativePG keeps it on every replica.
    standby = await primary.startStandby();
    standby.sql(`SELECT pg_create_physical_replication_slot('${'bitpin_backup'}', true)`, 'postgres');
    await write(primary, 'b');
    ok('incremental-backup.sh', primary);
    await write(primary, 'c'); // replicated, not yet archived
    await caughtUp(primary, standby);

    primary.ctl('stop', 'immediate'); // the primary is lost
    standby.promote();
    await write(standby, 'd');
    const r = ok('incremental-backup.sh', standby); // the run after the failover: new server, new timeline
    expect(r.stderr).toMatch(/check passed/);
    expect(standby.sql('SELECT timeline_id FROM pg_control_checkpoint()')).toBe('2');
    expect(r.stderr).toMatch(/switched to timeline 2 at/);
    const archived = runAsPostgres('ls', [join(backupDir, 'wal')]).stdout;
    expect(archived).toMatch(/^00000002\.history\.gz$/m);
    expect(runAsPostgres('cat', [join(backupDir, 'wal', 'SHA256SUMS')]).stdout).toMatch(/ 00000002\.history\.gz$/m);

    // Every write survives, replayed from timeline 1 into timeline 2.
    const latest = restore('latest', {});
    expect(latest.labels).toBe('a,b,c,d');
    // And a time between c (timeline 1, archived only after the failover) and d (timeline 2).
    const beforeD = new Date(Math.round((marks['c:after']! + marks['d:before']!) / 2)).toISOString();
    expect(restore('before-d', { RESTORE_TARGET_TIME: beforeD }).labels).toBe('a,b,c');
  });
});
