/**
 * The WAL receiver (wal-receiver.sh) on real PostgreSQL 15 — a TLS primary and a streaming
 * standby, the backup role as a non-superuser, everything run as the `postgres` user as the Pod
 * runs it (no mocks):
 * - it streams WAL as it is written and exports its lag; the metrics server serves it;
 * - the 15-minute incremental run publishes what it streamed (receiver mode) and advances the
 *   backup slot to what the archive has;
 * - a primary restart, a SIGKILLed pg_receivewal and a SIGKILLed receiver (mid-segment, under a
 *   write every 100 ms) lose no acknowledged commit;
 * - a failover to the promoted standby (timeline 2) is followed, and restores replay across it;
 * - synchronous mode (synchronous_standby_names naming the receiver): the primary SIGKILLed under
 *   a write every 100 ms loses no acknowledged commit; async: what the receiver reported as caught
 *   up is restorable. The RPO in seconds over 5 kills is `nx run backup:bench-rpo` (this file
 *   with BITPIN_RPO_KILLS=5), written to docs/benchmarks.md — never asserted here.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { backupRoleSetupSql, scriptPath, type ScriptFile } from '../src/index.js';
import { describeWithPostgres, freePort, ownedDir, ownedTempDir, runAsPostgres, sqlAt, stopAt } from '@bitpin/test-support';
import { Primary } from './support/postgres.js';
import { readAcks, sigkillServer, startGroup, startWriter, type Group } from './support/receiver.js';

const ROLE = 'bitpin_backup';
const PASSWORD = 'receiver-pw';
const RECEIVER = 'bitpin_wal_receiver';
const KILLS = Number(process.env['BITPIN_RPO_KILLS'] ?? '1');
const REPORT = process.env['BITPIN_RPO_REPORT'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithPostgres(['pg_receivewal', 'pg_basebackup', 'pg_waldump'])('the WAL receiver on a real PostgreSQL 15', { timeout: 600_000 }, () => {
  let primary: Primary; // the server that is primary now (the standby after the failover)
  let first: Primary;
  let standby: Primary | undefined;
  let work: string;
  let backupDir: string;
  let statusDir: string;
  let receiver: Group | undefined;
  const groups: Group[] = [];
  let restores = 0;
  const rounds: { mode: 'async' | 'sync'; lastAckId: number; restoredId: number; rpoSeconds: number; lostAcked: number }[] = [];

  /** libpq settings of the receiver: both servers, the writable one wins (what the -rw Service does). */
  function receiverEnv(): Record<string, string> {
    const ports = [first.port, ...(standby ? [standby.port] : [])];
    return {
      ...first.backupEnv(),
      PGHOST: ports.map(() => 'localhost').join(','),
      PGPORT: ports.join(','),
      PGTARGETSESSIONATTRS: 'read-write',
      BACKUP_DIR: backupDir,
      BACKUP_RECEIVER_STATUS_DIR: statusDir,
      BACKUP_RECEIVER_METRICS_INTERVAL: '1',
      BACKUP_RECEIVER_RESTART_DELAY: '2',
    };
  }
  function ok(script: ScriptFile, env: Record<string, string> = {}) {
    const r = runAsPostgres('bash', [scriptPath(script)], { ...receiverEnv(), ...env });
    if (r.status !== 0) throw new Error(`${script} exited ${r.status}:\n${r.stderr}`);
    return r;
  }
  function startReceiver(): Group {
    const g = startGroup('bash', [scriptPath('wal-receiver.sh')], receiverEnv());
    groups.push(g);
    return g;
  }
  function metrics(): Record<string, number> {
    const path = join(statusDir, 'metrics.prom');
    if (!existsSync(path)) return {};
    return Object.fromEntries(
      readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => /^bitpin_\w+ /.test(l))
        .map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])]),
    );
  }
  async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (cond()) return;
      await sleep(200);
    }
    throw new Error(`timed out waiting until ${what}\nreceiver output:\n${receiver?.output().slice(-4000) ?? ''}`);
  }
  /** The receiver streams from the current primary and has every byte the primary flushed. */
  async function caughtUp(): Promise<void> {
    const flush = primary.sql('SELECT pg_current_wal_flush_lsn()');
    await until(`the receiver confirmed ${flush}`, () => {
      const got = primary.sql(`SELECT coalesce(max(flush_lsn) >= '${flush}'::pg_lsn, false) FROM pg_stat_replication WHERE application_name = '${RECEIVER}'`);
      return got === 't';
    });
  }
  function restoreLatest(): { ids: Set<number>; maxId: number; maxAt: number; timeline: number } {
    const name = `restore-${++restores}`;
    const data = join(ownedDir(join(work, name)), 'pgdata');
    const socket = ownedDir(join(work, name, 'sock'));
    const r = runAsPostgres('bash', [scriptPath('restore.sh')], { ...receiverEnv(), RESTORE_PGDATA: data, RESTORE_KEEP_RUNNING: 'true', RESTORE_SOCKET_DIR: socket, RESTORE_PORT: '5432' });
    if (r.status !== 0) {
      const log = existsSync(join(socket, 'postgres.log')) ? runAsPostgres('tail', ['-n', '30', join(socket, 'postgres.log')]).stdout : '';
      throw new Error(`restore.sh exited ${r.status}:\n${r.stderr}\nserver log:\n${log}`);
    }
    try {
      const ids = new Set(
        sqlAt(socket, 5432, 'app', 'SELECT id FROM ticks')
          .split('\n')
          .filter(Boolean)
          .map(Number),
      );
      const [maxId, maxAt] = sqlAt(socket, 5432, 'app', 'SELECT max(id), extract(epoch FROM max(at)) FROM ticks').split('|').map(Number);
      return { ids, maxId: maxId!, maxAt: maxAt!, timeline: Number(sqlAt(socket, 5432, 'app', 'SELECT timeline_id FROM pg_control_checkpoint()')) };
    } finally {
      stopAt(data);
      rmSync(join(work, name), { recursive: true, force: true });
    }
  }
  function writer(acks: string): Group {
    const g = startWriter(primary.socketDir, primary.port, acks);
    groups.push(g);
    return g;
  }
  const lost = (acked: [number, number][], ids: Set<number>) => acked.filter(([id]) => !ids.has(id)).map(([id]) => id);

  beforeAll(async () => {
    first = await Primary.start({ backupRole: ROLE, backupPassword: PASSWORD });
    primary = first;
    work = ownedTempDir('bitpin-receiver-');
    backupDir = ownedDir(join(work, 'backup'), 0o750);
    statusDir = ownedDir(join(work, 'status'));
    primary.sql('CREATE DATABASE app', 'postgres');
    primary.sql(`CREATE ROLE ${ROLE} LOGIN REPLICATION PASSWORD '${PASSWORD}'`, 'postgres');
    primary.sql(backupRoleSetupSql({ role: ROLE, database: 'app' }));
    primary.sql(`CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), pad text DEFAULT repeat('x', 200))`);
    ok('full-backup.sh');
    // The standby and its copies of both slots, as CloudNativePG keeps them on every replica.
    standby = await primary.startStandby();
    for (const slot of ['bitpin_backup', 'bitpin_wal_receiver']) standby.sql(`SELECT pg_create_physical_replication_slot('${slot}', true)`, 'postgres');
  }, 180_000);

  afterAll(async () => {
    for (const g of groups) await g.stop();
    if (REPORT && rounds.length) writeFileSync(REPORT, JSON.stringify(rounds, null, 2));
    for (const r of rounds) console.log(`rpo round (${r.mode}): last acknowledged id ${r.lastAckId}, newest restorable ${r.restoredId}, ${r.rpoSeconds.toFixed(3)} s, acknowledged commits lost ${r.lostAcked}`);
    standby?.destroy();
    first?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('streams WAL as it is written and exports its lag', async () => {
    receiver = startReceiver();
    await until('the receiver streams', () => metrics()['bitpin_wal_receiver_up'] === 1);
    primary.sql('INSERT INTO ticks DEFAULT VALUES', 'app');
    const wrote = Date.now() / 1000;
    await caughtUp();
    await until('its lag is 0 and it reports being caught up after the write', () => {
      const m = metrics();
      return m['bitpin_wal_receiver_lag_bytes'] === 0 && (m['bitpin_wal_receiver_caught_up_timestamp_seconds'] ?? 0) > wrote - 1;
    });
    expect(metrics()['bitpin_wal_receiver_primary_reachable']).toBe(1);
    expect(readFileSync(join(backupDir, 'wal', 'receiver.status'), 'utf8')).toMatch(/^lsn=[0-9A-F]+\/[0-9A-F]+ epoch=[\d.]+ time=\S+Z$/m);
    // The sessions it holds: one replication connection under the name synchronous mode lists.
    expect(primary.sql(`SELECT usename, state FROM pg_stat_replication WHERE application_name = '${RECEIVER}'`)).toBe(`${ROLE}|streaming`);

    // The metrics server of the Pod, on the same file.
    const port = await freePort();
    const http = startGroup('python3', ['-I', '-S', scriptPath('bitpin_metrics_http.py'), join(statusDir, 'metrics.prom'), String(port), '30'], {});
    groups.push(http);
    let body = '';
    await until('the metrics server answers', () => {
      void fetch(`http://127.0.0.1:${port}/metrics`)
        .then((r) => r.text())
        .then((t) => (body = t))
        .catch(() => undefined);
      return body.includes('bitpin_wal_receiver_up');
    });
    expect(body).toMatch(/^# TYPE bitpin_wal_receiver_lag_seconds gauge$/m);
    expect(body).toMatch(/^bitpin_wal_receiver_up 1$/m);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/nothing`)).status).toBe(404);
    await http.stop();
  });

  it('the incremental run publishes what the receiver streamed and advances the backup slot', async () => {
    primary.sql('INSERT INTO ticks DEFAULT VALUES', 'app');
    const r = ok('incremental-backup.sh', { BACKUP_RECEIVER_WAIT: '30' });
    expect(r.stderr).toMatch(/the WAL receiver has confirmed/);
    expect(r.stderr).toMatch(/mode=receiver/);
    expect(r.stderr).toMatch(/check passed/);
    const line = readFileSync(join(backupDir, 'incremental.log'), 'utf8').trim().split('\n').at(-1)!;
    expect(line).toMatch(/ mode=receiver$/);
    const lsn = /lsn=(\S+)/.exec(line)![1]!;
    // The backup slot no longer keeps WAL the archive already has.
    expect(primary.sql(`SELECT restart_lsn >= '${lsn}'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'bitpin_backup'`)).toBe('t');
    expect(readFileSync(join(backupDir, 'wal', 'SHA256SUMS.partial'), 'utf8')).toMatch(/^[0-9a-f]{64} \d+ [0-9A-F]{24}\.partial$/m);
    // The receiver keeps appending to the open segment: its recorded first bytes still match.
    primary.sql('INSERT INTO ticks DEFAULT VALUES', 'app');
    await caughtUp();
    ok('check.sh');
  });

  it('loses no acknowledged commit across a primary restart, a killed pg_receivewal and a killed receiver', async () => {
    const acks = join(work, 'acks-faults');
    const w = writer(acks);
    await sleep(2_000);
    primary.ctl('restart', 'fast');
    await until('the receiver streams again after the restart', () => primary.sql(`SELECT count(*) FROM pg_stat_replication WHERE application_name = '${RECEIVER}'`) === '1');
    await sleep(1_500);
    // pg_receivewal SIGKILLed in the middle of a segment: the supervising loop restarts it.
    const restarts = metrics()['bitpin_wal_receiver_restarts_total'] ?? 0;
    runAsPostgres('kill', ['-KILL', readFileSync(join(statusDir, 'receivewal.pid'), 'utf8').trim()]);
    await until('pg_receivewal was restarted', () => (metrics()['bitpin_wal_receiver_restarts_total'] ?? 0) > restarts && metrics()['bitpin_wal_receiver_up'] === 1);
    await sleep(1_500);
    // The whole receiver SIGKILLed (a node failure); the Deployment starts a new one.
    receiver!.kill('SIGKILL');
    await receiver!.exited;
    await sleep(1_500);
    receiver = startReceiver();
    await until('the new receiver streams', () => metrics()['bitpin_wal_receiver_up'] === 1);
    await sleep(1_500);
    await w.stop();
    await caughtUp();
    const acked = readAcks(acks);
    expect(acked.length).toBeGreaterThan(30);
    const restored = restoreLatest();
    expect(lost(acked, restored.ids)).toEqual([]);
  });

  it('follows a failover to the promoted standby onto timeline 2', async () => {
    const acks = join(work, 'acks-failover');
    let w = writer(acks);
    await sleep(2_000);
    await w.stop();
    const target = primary.sql('SELECT pg_current_wal_lsn()');
    await until('the standby replayed everything', () => standby!.sql(`SELECT pg_last_wal_replay_lsn() >= '${target}'::pg_lsn`) === 't');
    await caughtUp();
    first.ctl('stop', 'immediate'); // the primary is lost
    standby!.promote();
    primary = standby!;
    w = writer(acks);
    await until('the receiver streams from the new primary', () => primary.sql(`SELECT count(*) FROM pg_stat_replication WHERE application_name = '${RECEIVER}'`) === '1', 90_000);
    await sleep(2_000);
    await w.stop();
    await caughtUp();
    expect(readFileSync(join(backupDir, 'wal', 'SHA256SUMS'), 'utf8') + runAsPostgres('ls', [join(backupDir, 'wal')]).stdout).toMatch(/00000002\.history/);
    const acked = readAcks(acks);
    const restored = restoreLatest();
    expect(restored.timeline).toBeGreaterThanOrEqual(2);
    expect(lost(acked, restored.ids)).toEqual([]);
    // The incremental run after the failover publishes timeline 2 without a gap.
    expect(ok('incremental-backup.sh').stderr).toMatch(/check passed/);
  });

  /** Writes every 100 ms for 3 s, SIGKILLs the primary, restores the newest state, restarts it. */
  async function killRound(mode: 'async' | 'sync'): Promise<{ acked: [number, number][]; restored: ReturnType<typeof restoreLatest>; caughtUpAtKill: number }> {
    const acks = join(work, `acks-${mode}-${rounds.length}`);
    const w = writer(acks);
    await sleep(3_000);
    sigkillServer(primary.server.data);
    const caughtUpAtKill = Number(/epoch=([\d.]+)/.exec(readFileSync(join(backupDir, 'wal', 'receiver.status'), 'utf8'))?.[1] ?? 0);
    await w.stop();
    const acked = readAcks(acks);
    await sleep(500); // what the receiver still writes, it writes now
    const restored = restoreLatest();
    const last = acked.at(-1)!;
    rounds.push({ mode, lastAckId: last[0], restoredId: restored.maxId, rpoSeconds: Math.max(0, last[1] - restored.maxAt), lostAcked: lost(acked, restored.ids).length });
    primary.ctl('start');
    await until('the receiver streams again', () => primary.sql(`SELECT count(*) FROM pg_stat_replication WHERE application_name = '${RECEIVER}'`) === '1', 90_000);
    await caughtUp();
    return { acked, restored, caughtUpAtKill };
  }

  it('synchronous mode: a SIGKILLed primary loses no acknowledged commit', async () => {
    primary.sql(`ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (${RECEIVER})'`);
    primary.sql('SELECT pg_reload_conf()');
    await until('the receiver is the synchronous standby', () => primary.sql(`SELECT sync_state FROM pg_stat_replication WHERE application_name = '${RECEIVER}'`) === 'sync');
    for (let i = 0; i < KILLS; i++) {
      const { acked, restored } = await killRound('sync');
      expect(acked.length).toBeGreaterThan(10);
      expect(lost(acked, restored.ids)).toEqual([]);
    }
    primary.sql(`ALTER SYSTEM RESET synchronous_standby_names`);
    primary.sql('SELECT pg_reload_conf()');
  });

  it('asynchronous mode: what the receiver reported as archived is restorable after a SIGKILL', async () => {
    for (let i = 0; i < KILLS; i++) {
      const { acked, restored, caughtUpAtKill } = await killRound('async');
      expect(acked.length).toBeGreaterThan(10);
      // Every acknowledged commit at or before the time the receiver reported is in the restore.
      const covered = acked.filter(([, at]) => at <= caughtUpAtKill - 0.01);
      expect(covered.length).toBeGreaterThan(0);
      expect(lost(covered, restored.ids)).toEqual([]);
    }
  });
});
