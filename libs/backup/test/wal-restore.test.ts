/**
 * wal-restore.sh (the restore_command) on its own, no server: segments handed over after their
 * checks, the next ones prepared ahead in the background and handed over by a rename, and
 * whatever the background could not prepare still checked and refused by the request itself.
 * Segments of 16 KiB (the 4th argument) keep the archive small.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { scriptPath } from '../src/index.js';

const SEG = 16384;
const work = mkdtempSync(join(tmpdir(), 'bitpin-wal-restore-'));
// Retried: a prefetch wal-restore.sh left running in the background may still be writing there.
afterAll(() => rmSync(work, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }));

const name = (n: number) => `0000000100000000${n.toString(16).toUpperCase().padStart(8, '0')}`;
const payload = (n: number) => Buffer.alloc(SEG, `segment ${n} `);

/** An archive of segments 1..count (gzip, as pg_receivewal writes them) with their SHA256SUMS. */
function archive(dir: string, count: number): string {
  mkdirSync(dir, { recursive: true });
  const sums: string[] = [];
  for (let n = 1; n <= count; n++) {
    const gz = gzipSync(payload(n));
    writeFileSync(join(dir, `${name(n)}.gz`), gz);
    sums.push(`${createHash('sha256').update(gz).digest('hex')}  ${name(n)}.gz`);
  }
  writeFileSync(join(dir, 'SHA256SUMS'), `${sums.join('\n')}\n`);
  return dir;
}

function restore(arch: string, pgWal: string, n: number, ahead?: number) {
  const dest = join(pgWal, 'RECOVERYXLOG');
  rmSync(dest, { force: true }); // as the server does before it asks
  const args = [scriptPath('wal-restore.sh'), arch, name(n), dest, String(SEG), ...(ahead === undefined ? [] : [String(ahead)])];
  const r = spawnSync('bash', args, { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
  return { status: r.status, stderr: r.stderr, got: existsSync(dest) ? readFileSync(dest) : undefined };
}

/** The prepared segments once they are `expected` and no background preparation runs (5 s at most). */
async function settled(pgWal: string, expected: string[]): Promise<string[]> {
  const dir = join(pgWal, 'bitpin-prefetch');
  let files: string[] = [];
  for (let i = 0; i < 200; i++) {
    files = (existsSync(dir) ? readdirSync(dir) : []).sort();
    if (!files.some((f) => f.endsWith('.lock') || f.endsWith('.tmp')) && JSON.stringify(files) === JSON.stringify(expected)) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return files;
}

describe('wal-restore.sh', () => {
  it('hands over each segment, the next ones prepared ahead and renamed into place', async () => {
    const arch = archive(join(work, 'a1'), 5);
    const pgWal = join(work, 'w1');
    mkdirSync(pgWal);
    const first = restore(arch, pgWal, 1);
    expect(first.status).toBe(0);
    expect(Buffer.compare(first.got!, payload(1))).toBe(0);
    expect(await settled(pgWal, [name(2), name(3)])).toEqual([name(2), name(3)]);
    const second = restore(arch, pgWal, 2);
    expect(second.status).toBe(0);
    expect(Buffer.compare(second.got!, payload(2))).toBe(0);
    expect(await settled(pgWal, [name(3), name(4)])).toEqual([name(3), name(4)]);
    // Not what the server asks for next (e.g. after a timeline switch): dropped by the next request.
    writeFileSync(join(pgWal, 'bitpin-prefetch', '000000020000000000000009'), payload(9));
    expect(restore(arch, pgWal, 3).status).toBe(0);
    expect(await settled(pgWal, [name(4), name(5)])).toEqual([name(4), name(5)]);
    expect(restore(arch, pgWal, 4).status).toBe(0);
    expect(restore(arch, pgWal, 5).status).toBe(0);
    expect(await settled(pgWal, [])).toEqual([]);
    expect(restore(arch, pgWal, 6).status).toBe(1); // the end of the archive
  });

  it('leaves a segment it cannot prepare to the request, which refuses it (exit 255)', async () => {
    const arch = archive(join(work, 'a2'), 4);
    // Segment 3 replaced by another valid gzip: only its SHA-256 tells.
    writeFileSync(join(arch, `${name(3)}.gz`), gzipSync(payload(33)));
    // Segment 4 the wrong size, with its checksum recorded.
    const short = gzipSync(payload(4).subarray(0, SEG - 1));
    writeFileSync(join(arch, `${name(4)}.gz`), short);
    const sums = join(arch, 'SHA256SUMS');
    writeFileSync(sums, readFileSync(sums, 'utf8').replace(/^\w+ {2}(\S+4\.gz)$/m, `${createHash('sha256').update(short).digest('hex')}  $1`));
    const pgWal = join(work, 'w2');
    mkdirSync(pgWal);
    expect(restore(arch, pgWal, 1).status).toBe(0);
    expect(await settled(pgWal, [name(2)])).toEqual([name(2)]); // 3 is not prepared
    expect(restore(arch, pgWal, 2).status).toBe(0);
    expect(await settled(pgWal, [])).toEqual([]); // nor 4
    const bad = restore(arch, pgWal, 3);
    expect(bad.status).toBe(255);
    expect(bad.stderr).toMatch(/does not match its SHA-256 .*stopping recovery/);
    expect(bad.got).toBeUndefined();
    const wrong = restore(arch, pgWal, 4);
    expect(wrong.status).toBe(255);
    expect(wrong.stderr).toMatch(/does not hold 16384 bytes; stopping recovery/);
  });

  it('does not wait for a preparation whose process is gone, and prepares nothing with AHEAD 0', async () => {
    const arch = archive(join(work, 'a3'), 3);
    const pgWal = join(work, 'w3');
    mkdirSync(join(pgWal, 'bitpin-prefetch', `${name(1)}.lock`), { recursive: true });
    const gone = spawnSync('bash', ['-c', 'echo $$']).stdout.toString().trim(); // a process that has ended
    writeFileSync(join(pgWal, 'bitpin-prefetch', `${name(1)}.lock`, 'pid'), `${gone}\n`);
    const t = Date.now();
    const r = restore(arch, pgWal, 1);
    expect(r.status).toBe(0);
    expect(Buffer.compare(r.got!, payload(1))).toBe(0);
    expect(Date.now() - t).toBeLessThan(5000);
    const off = join(work, 'w4');
    mkdirSync(off);
    expect(restore(arch, off, 1, 0).status).toBe(0);
    expect(existsSync(join(off, 'bitpin-prefetch'))).toBe(false);
  });
});
