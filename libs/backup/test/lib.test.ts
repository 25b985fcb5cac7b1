/**
 * The helpers of scripts/lib.sh on their own (no server): WAL names and positions, gzip inflation
 * through zlib (python3) or, without python3, GNU gzip — both must give the same bytes and both
 * must refuse damaged input —, the one-pass unpack + copy + SHA-256, SHA-256 lists, and tar
 * extraction in large records.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

  it('sha256_list_known: a digest taken while writing is used only for the file as written', () => {
    // GIVEN three compressed segments written by bitpin_gzip.py --sums, one rewritten since, and a
    // fourth it never wrote
    const dir = join(work, 'known');
    execFileSync('mkdir', ['-p', dir]);
    const names = ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003'];
    for (const n of names) writeFileSync(join(dir, n), Buffer.concat([Buffer.from(n.repeat(1000)), Buffer.alloc(70_000)]));
    const known = join(work, 'known.sums');
    const made = lib(`python3 -I -S "$BITPIN_LIB_DIR/bitpin_gzip.py" --sums "${known}" 1 ${names.map((n) => `"${join(dir, n)}"`).join(' ')}`);
    expect(made.status, made.stderr).toBe(0);
    // A recorded digest that is not the file's: if the function used it, it did not read the file.
    const lines = readFileSync(known, 'utf8').trim().split('\n');
    const forged = lines.map((l) => (l.endsWith(`${names[0]}.gz`) ? `${'0'.repeat(64)}${l.slice(64)}` : l));
    writeFileSync(known, forged.join('\n') + '\n');
    writeFileSync(join(dir, `${names[1]}.gz`), 'rewritten'); // same inode, new size and mtime
    writeFileSync(join(dir, 'other.gz'), 'never recorded');
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    // WHEN the list is made
    const all = [`${names[0]}.gz`, `${names[1]}.gz`, `${names[2]}.gz`, 'other.gz'];
    const out = lib(`sha256_list_known "${known}" "${dir}" ${all.join(' ')}`);
    // THEN the untouched ones carry the recorded digest, the others their own, in the order asked
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout.toString()).toBe(
      [`${'0'.repeat(64)}  ${all[0]}`, `${sha(join(dir, all[1]!))}  ${all[1]}`, `${sha(join(dir, all[2]!))}  ${all[2]}`, `${sha(join(dir, all[3]!))}  ${all[3]}`]
        .map((l) => `${l}\n`)
        .join(''),
    );
    // and with no record at all, every file is read
    expect(lib(`sha256_list_known "" "${dir}" ${all[2]}`).stdout.toString()).toBe(`${sha(join(dir, all[2]!))}  ${all[2]}\n`);
  });

  describe('unpack_extract: one read of a gzip tar, copied, hashed and extracted', () => {
    /** A tree with what a base backup holds, and what GNU tar adds: a long name, an empty file. */
    const src = join(work, 'extract-src');
    const long = `${'d'.repeat(60)}/${'f'.repeat(80)}`; // > 100 bytes: a GNU long-name member
    execFileSync('mkdir', ['-p', join(src, 'base', '1'), join(src, 'pg_tblspc'), join(src, 'd'.repeat(60))]);
    writeFileSync(join(src, 'base', '1', '1259'), payload);
    writeFileSync(join(src, 'empty'), '');
    writeFileSync(join(src, long), 'long name');
    execFileSync('chmod', ['0640', join(src, 'empty')]);
    symlinkSync('/elsewhere/tblspc', join(src, 'pg_tblspc', '16400'));
    const tgz = gzipSync(execFileSync('tar', ['-cf', '-', '-C', src, '.']));
    const listing = (dir: string) => execFileSync('bash', ['-c', `cd "${dir}" && find . -printf '%p %y %m %s %l\\n' | sort`], { encoding: 'utf8' });
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

    it.each([
      ['python3', undefined],
      ['tee + gzip + tar (no python3)', 'fallback'],
    ])('gives what GNU tar gives, the SHA-256 of the compressed bytes and their copy, through %s', (_what, mode) => {
      const path = mode ? pathWithoutPython() : undefined;
      const dest = join(work, `extract-${mode ?? 'py'}`);
      execFileSync('mkdir', ['-p', dest]);
      const copy = join(work, `extract-copy-${mode ?? 'py'}`);
      const sum = join(work, `extract-sum-${mode ?? 'py'}`);
      const out = lib(`unpack_extract gzip "${copy}" "${sum}" "${dest}"`, { input: tgz, ...(path ? { path } : {}) });
      expect(out.status).toBe(0);
      expect(listing(dest)).toBe(listing(src));
      expect(readFileSync(join(dest, long), 'utf8')).toBe('long name');
      expect(Buffer.compare(readFileSync(join(dest, 'base', '1', '1259')), payload)).toBe(0);
      expect(readFileSync(sum, 'utf8').trim()).toBe(sha(tgz));
      expect(Buffer.compare(readFileSync(copy), tgz)).toBe(0);
    });

    /** A one-member tar whose header the test writes itself (GNU tar will not write these). */
    function oneMember(name: string, body: string, opts: { type?: string; link?: string; badSum?: boolean } = {}): Buffer {
      const h = Buffer.alloc(512);
      h.write(name, 0);
      h.write('0000600\0', 100);
      h.write('0000000\0', 108);
      h.write('0000000\0', 116);
      h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
      h.write('00000000000\0', 136);
      h.write(opts.type ?? '0', 156);
      if (opts.link) h.write(opts.link, 157);
      h.write('ustar\0' + '00', 257);
      h.write('        ', 148);
      let sum = 0;
      for (const b of h) sum += b;
      h.write(`${(sum + (opts.badSum ? 1 : 0)).toString(8).padStart(6, '0')}\0 `, 148);
      const data = Buffer.alloc(Math.ceil(body.length / 512) * 512);
      data.write(body);
      return Buffer.concat([h, data]);
    }
    const end = Buffer.alloc(1024);

    it.each([
      ['a path outside the target', [oneMember('../escape', 'x')], /outside the target directory/],
      ['an absolute path', [oneMember('/tmp/abs', 'x')], /outside the target directory/],
      ['a file below a symbolic link it made', [oneMember('link', '', { type: '2', link: '/tmp' }), oneMember('link/owned', 'x')], /below a symbolic link/],
      ['a damaged header', [oneMember('file', 'x', { badSum: true })], /header checksum mismatch/],
      ['a hard link', [oneMember('hard', '', { type: '1', link: 'file' })], /unsupported tar member type/],
      ['a truncated member', [oneMember('file', 'x'.repeat(2000)).subarray(0, 1000)], /tar stream truncated/],
    ])('refuses %s', (_what, members, message) => {
      const dest = join(work, `refuse-${Math.random().toString(36).slice(2)}`);
      execFileSync('mkdir', ['-p', dest]);
      const last = members.at(-1)!;
      const tar = Buffer.concat([...members, ...(last.length % 512 === 0 ? [end] : [])]);
      const out = lib(`unpack_extract gzip "" "${dest}.sum" "${dest}"`, { input: gzipSync(tar) });
      expect(out.status).not.toBe(0);
      expect(out.stderr).toMatch(message);
      expect(existsSync(`${dest}.sum`)).toBe(false); // no checksum for a stream that failed
      expect(existsSync(join(work, 'escape'))).toBe(false);
    });
  });
});
