/**
 * The helpers of scripts/lib.sh on their own (no server): WAL names and positions, and gzip
 * inflation through zlib (python3) or, without python3, GNU gzip — both must give the same bytes
 * and both must refuse damaged input.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
  for (const tool of ['bash', 'gzip', 'cat', 'date', 'dirname', 'basename', 'sed', 'tail', 'head', 'od', 'tr']) {
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
});
