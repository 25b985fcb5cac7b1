/**
 * Retention on a synthetic backup volume (no server needed): exactly which full backups, WAL
 * segments and leftovers are deleted for given settings and clock.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scriptPath } from '../src/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Segment name on timeline `tli` for segment number `segno` (16 MB segments). */
const seg = (segno: number, tli = 1) =>
  `${tli.toString(16).toUpperCase().padStart(8, '0')}${Math.floor(segno / 256).toString(16).toUpperCase().padStart(8, '0')}${(segno % 256).toString(16).toUpperCase().padStart(8, '0')}`;

interface FakeBackup {
  readonly id: string;
  readonly end: string;
  readonly startSegno: number;
  readonly status?: string;
}

function volume(backups: FakeBackup[], wal: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'bitpin-retention-'));
  dirs.push(root);
  mkdirSync(join(root, 'wal'), { recursive: true });
  for (const b of backups) {
    const d = join(root, 'full', b.id);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'base.tar.gz'), 'x');
    writeFileSync(
      join(d, 'backup.info'),
      `id=${b.id}\nstart_wal=${seg(b.startSegno)}\nend_time=${b.end}\nend_epoch=${Math.floor(Date.parse(b.end) / 1000)}\nstatus=${b.status ?? 'ok'}\n`,
    );
  }
  for (const w of wal) writeFileSync(join(root, 'wal', w), 'w');
  writeFileSync(join(root, 'wal', 'SHA256SUMS'), wal.filter((w) => /^[0-9A-F]{24}\.gz$/.test(w)).map((w) => `${'ab'.repeat(32)}  ${w}\n`).join(''));
  return root;
}

function retention(dir: string, env: Record<string, string>) {
  const r = spawnSync('bash', [scriptPath('retention.sh')], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', BACKUP_DIR: dir, ...env },
  });
  return { status: r.status, stderr: r.stderr };
}

const fulls = (dir: string) => readdirSync(join(dir, 'full')).sort();
const wals = (dir: string) => readdirSync(join(dir, 'wal')).filter((f) => f !== 'SHA256SUMS').sort();

/** Daily backups at 02:00 UTC, each ending at 02:05, from Jan `from` to Jan `to` 2026; backup of day d starts in segment d*10. */
function daily(from: number, to: number): FakeBackup[] {
  const out: FakeBackup[] = [];
  for (let d = from; d <= to; d++) {
    const day = String(d).padStart(2, '0');
    out.push({ id: `202601${day}T020000Z`, end: `2026-01-${day}T02:05:00Z`, startSegno: d * 10 });
  }
  return out;
}

describe('retention', () => {
  it('keeps the newest N backups and N days plus the backup just before the window; drops older WAL', () => {
    const wal = [seg(69) + '.gz', seg(70) + '.gz', seg(79) + '.gz', seg(80) + '.gz', seg(81) + '.gz.partial', seg(75, 2) + '.gz', seg(90, 2) + '.gz', '00000002.history'];
    const dir = volume(daily(3, 10), wal);
    const r = retention(dir, { BACKUP_KEEP_FULL: '2', BACKUP_RETENTION_DAYS: '2', BACKUP_NOW: '2026-01-10T03:00:00Z' });
    expect(r.status).toBe(0);
    // Window starts Jan 8 03:00: Jan 9 and 10 are inside, Jan 8 (02:05) is the backup just before it.
    expect(fulls(dir)).toEqual(['20260108T020000Z', '20260109T020000Z', '20260110T020000Z']);
    // The oldest kept backup (Jan 8) starts in segment 80: everything before it goes, on every timeline.
    expect(wals(dir)).toEqual(['00000002.history', `${seg(90, 2)}.gz`, `${seg(80)}.gz`, `${seg(81)}.gz.partial`].sort());
    expect(readFileSync(join(dir, 'wal', 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => l.split('  ')[1])).toEqual([`${seg(80)}.gz`, `${seg(90, 2)}.gz`]);
    expect(r.stderr).toContain('deleted full/20260103T020000Z');
    expect(r.stderr).toMatch(/3 full backup\(s\) kept \(oldest 20260108T020000Z\), 4 WAL file\(s\) before 000000010000000000000050 deleted/);
  });

  it('keeps N backups even when they are older than N days', () => {
    const dir = volume(daily(1, 5), [seg(10) + '.gz', seg(30) + '.gz']);
    expect(retention(dir, { BACKUP_KEEP_FULL: '3', BACKUP_RETENTION_DAYS: '1', BACKUP_NOW: '2026-01-20T00:00:00Z' }).status).toBe(0);
    expect(fulls(dir)).toEqual(['20260103T020000Z', '20260104T020000Z', '20260105T020000Z']);
    expect(wals(dir)).toEqual([`${seg(30)}.gz`]);
  });

  it('never deletes the newest good backup, whatever the settings; failed runs are cleaned after a day', () => {
    const backups = [...daily(1, 3), { id: '20260104T020000Z', end: '2026-01-04T02:05:00Z', startSegno: 40, status: 'failed' }];
    const dir = volume(backups, [seg(20) + '.gz', seg(30) + '.gz']);
    mkdirSync(join(dir, 'full', '.partial-old'));
    mkdirSync(join(dir, 'full', '.partial-running'));
    const twoDaysAgo = Date.now() / 1000 - 2 * 86400;
    utimesSync(join(dir, 'full', '.partial-old'), twoDaysAgo, twoDaysAgo);
    const r = retention(dir, { BACKUP_KEEP_FULL: '1', BACKUP_RETENTION_DAYS: '1', BACKUP_NOW: '2027-01-01T00:00:00Z' });
    expect(r.status).toBe(0);
    expect(fulls(dir)).toEqual(['.partial-running', '20260103T020000Z', '20260104T020000Z']);
    expect(r.stderr).toMatch(/20260104T020000Z is not a good backup; left in place/);
    expect(wals(dir)).toEqual([`${seg(30)}.gz`]);
  });

  it('deletes no WAL while there is no good full backup', () => {
    const dir = volume([], [seg(1) + '.gz', seg(2) + '.gz.partial']);
    const r = retention(dir, { BACKUP_KEEP_FULL: '1', BACKUP_RETENTION_DAYS: '1' });
    expect(r.status).toBe(0);
    expect(wals(dir)).toHaveLength(2);
    expect(r.stderr).toMatch(/no good full backup yet: no WAL deleted/);
  });

  it('a dry run reports and deletes nothing', () => {
    const dir = volume(daily(1, 4), [seg(10) + '.gz', seg(40) + '.gz']);
    const r = retention(dir, { BACKUP_KEEP_FULL: '1', BACKUP_RETENTION_DAYS: '1', BACKUP_NOW: '2026-01-04T03:00:00Z', BACKUP_DRY_RUN: 'true' });
    expect(r.status).toBe(0);
    expect(fulls(dir)).toHaveLength(4);
    expect(wals(dir)).toHaveLength(2);
    expect(r.stderr).toContain('would delete full/20260101T020000Z');
    expect(r.stderr).toContain(`would delete wal/${seg(10)}.gz`);
  });

  it('fails on settings that would delete everything, naming the setting', () => {
    const dir = volume(daily(1, 2), []);
    const r = retention(dir, { BACKUP_KEEP_FULL: '0' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/BACKUP_KEEP_FULL must be at least 1, got 0/);
    expect(fulls(dir)).toHaveLength(2);
    const bad = retention(dir, { BACKUP_RETENTION_DAYS: 'seven' });
    expect(bad.stderr).toMatch(/BACKUP_RETENTION_DAYS must be a whole number, got "seven"/);
    expect(existsSync(join(dir, 'full', '20260101T020000Z'))).toBe(true);
  });
});
