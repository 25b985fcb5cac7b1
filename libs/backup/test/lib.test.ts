/**
 * The helpers of scripts/lib.sh on their own (no server): WAL names and positions, gzip inflation
 * through zlib (python3) or, without python3, GNU gzip — both must give the same bytes and both
 * must refuse damaged input —, the one-pass unpack + copy + SHA-256, SHA-256 lists, and tar
 * extraction in large records.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { scriptPath } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'bitpin-lib-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A PATH with the usual tools but no python3, to exercise the gzip fallback. */
function pathWithoutPython(): string {
  const bin = join(work, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  for (const tool of ['bash', 'gzip', 'cat', 'date', 'dirname', 'basename', 'sed', 'tail', 'head', 'od', 'tr', 'tee', 'sha256sum', 'cut', 'mkfifo', 'mktemp', 'rm', 'tar']) {
    const real = execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    try {
      symlinkSync(real, join(bin, tool));
    } catch {
      /* already linked */
    }
  }
  return bin;
}

function lib(snippet: string, opts: { input?: Buffer; path?: string } = {}) {
  const r = spawnSync('bash', ['-c', `source "${scriptPath('lib.sh')}"; ${snippet}`], {
    input: opts.input,
    env: { PATH: opts.path ?? process.env['PATH'] ?? '/usr/bin:/bin', PG_BINDIR: '/nonexistent' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe('lib.sh', () => {
  it('names WAL segments and their numbers like PostgreSQL (16 MB segments)', () => {
    expect(lib('wal_name 1 0/3000060').stdout.toString()).toBe('000000010000000000000003');
    expect(lib('wal_name 2 1/A2000000').stdout.toString()).toBe('0000000200000001000000A2');
    expect(lib('wal_segno 0000000200000001000000A2.gz.partial').stdout.toString().trim()).toBe(String(256 + 0xa2));
    expect(lib('lsn_to_dec 1/0').stdout.toString().trim()).toBe(String(2 ** 32));
  });

  const payload = Buffer.concat([Buffer.from('bitpin '.repeat(50_000)), Buffer.alloc(300_000)]);
  const twoMembers = Buffer.concat([gzipSync(payload.subarray(0, 1000)), gzipSync(payload.subarray(1000))]);
  const file = join(work, 'x.tar.gz');
  writeFileSync(file, twoMembers);

  it.each([
    ['zlib (python3)', undefined],
    ['GNU gzip (no python3)', 'fallback'],
  ])('inflates gzip, multi-member too, through %s', (_what, mode) => {
    const path = mode ? pathWithoutPython() : undefined;
    expect(lib(`command -v python3 >/dev/null && echo py || echo nopy`, { ...(path ? { path } : {}) }).stdout.toString().trim()).toBe(mode ? 'nopy' : 'py');
    const out = lib(`unpack "${file}"`, { ...(path ? { path } : {}) });
    expect(out.status).toBe(0);
    expect(Buffer.compare(out.stdout, payload)).toBe(0);
    const truncated = lib('unpack_stream gzip', { input: twoMembers.subarray(0, twoMembers.length - 200), ...(path ? { path } : {}) });
    expect(truncated.status).not.toBe(0);
  });

  it.each([
    ['zlib (python3)', undefined],
    ['tee + GNU gzip + sha256sum (no python3)', 'fallback'],
  ])('reads a compressed stream once: unpacked, copied and its SHA-256 taken, through %s', (_what, mode) => {
    const path = mode ? pathWithoutPython() : undefined;
    const copy = join(work, `copy-${mode ?? 'py'}.gz`);
    const sum = join(work, `sum-${mode ?? 'py'}`);
    const out = lib(`unpack_copy gzip "${copy}" "${sum}"`, { input: twoMembers, ...(path ? { path } : {}) });
    expect(out.status).toBe(0);
    expect(Buffer.compare(out.stdout, payload)).toBe(0);
    expect(Buffer.compare(readFileSync(copy), twoMembers)).toBe(0);
    expect(readFileSync(sum, 'utf8').trim()).toBe(createHash('sha256').update(twoMembers).digest('hex'));
    // Without a copy, and a damaged stream fails (the caller then discards what was unpacked).
    const bare = lib(`unpack_copy gzip "" "${sum}"`, { input: twoMembers, ...(path ? { path } : {}) });
    expect(bare.status).toBe(0);
    expect(readFileSync(sum, 'utf8').trim()).toBe(createHash('sha256').update(twoMembers).digest('hex'));
    const damaged = Buffer.from(twoMembers);
    damaged[damaged.length - 5]! ^= 0xff; // the last member's CRC
    expect(lib(`unpack_copy gzip "" "${sum}"`, { input: damaged, ...(path ? { path } : {}) }).status).not.toBe(0);
  });

  it.each([
    ['hashlib (python3)', undefined],
    ['sha256sum (no python3)', 'fallback'],
  ])('lists SHA-256 sums like sha256sum, through %s', (_what, mode) => {
    const path = mode ? pathWithoutPython() : undefined;
    const dir = join(work, `sums-${mode ?? 'py'}`);
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'a'), payload);
    writeFileSync(join(dir, 'b c'), '');
    const out = lib(`sha256_list "${dir}" a "b c"`, { ...(path ? { path } : {}) });
    expect(out.status).toBe(0);
    const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    expect(out.stdout.toString()).toBe(`${sha(payload)}  a\n${sha('')}  b c\n`);
    expect(lib(`sha256_list "${dir}" missing`, { ...(path ? { path } : {}) }).status).not.toBe(0);
  });

  it('extracts a tar read in 1 MiB records, also from a pipe that delivers it in small pieces', () => {
    const src = join(work, 'tree');
    execFileSync('mkdir', ['-p', join(src, 'd')]);
    writeFileSync(join(src, 'd', 'big'), payload);
    writeFileSync(join(src, 'small'), 'x');
    const tarball = execFileSync('tar', ['-cf', '-', '-C', src, '.']);
    const dest = join(work, 'untarred');
    execFileSync('mkdir', ['-p', dest]);
    const out = lib(`python3 -c 'import sys
d = sys.stdin.buffer.read()
for i in range(0, len(d), 7000):
    sys.stdout.buffer.write(d[i:i + 7000]); sys.stdout.buffer.flush()' | untar "${dest}"`, { input: tarball });
    expect(out.status).toBe(0);
    expect(Buffer.compare(readFileSync(join(dest, 'd', 'big')), payload)).toBe(0);
    expect(readFileSync(join(dest, 'small'), 'utf8')).toBe('x');
  });
});
