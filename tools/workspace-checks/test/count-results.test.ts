/**
 * The closing line of `npm test` ("N passed, N failed, N skipped") tells the truth: real vitest
 * runs in a throwaway workspace, with the workspace's reporter (tools/test-support/count-reporter.mjs),
 * summed by tools/scripts/count-results.mjs exactly as tools/scripts/test.sh does.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const vitestBin = join(root, 'node_modules', '.bin', 'vitest');
const reporter = join(root, 'tools', 'test-support', 'count-reporter.mjs');
const countResults = join(root, 'tools', 'scripts', 'count-results.mjs');
let ws: string;

afterEach(() => {
  if (ws) rmSync(ws, { recursive: true, force: true });
});

/** A project under `libs/<name>` with the given test files, run by the real vitest. */
function project(name: string, files: Record<string, string>, run = true): void {
  const dir = join(ws, 'libs', name);
  mkdirSync(join(dir, 'test'), { recursive: true });
  writeFileSync(
    join(dir, 'vitest.config.mjs'),
    `export default { test: { root: import.meta.dirname, watch: false, include: ['test/**/*.test.mjs'], reporters: [['${reporter}', {}]] } };\n`,
  );
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, 'test', file), text);
  if (!run) return;
  const r = spawnSync(vitestBin, ['run', '--config', join(dir, 'vitest.config.mjs')], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '', FORCE_COLOR: '0' }, timeout: 60_000 });
  expect(r.error).toBeUndefined();
}

function count(...args: string[]): { status: number | null; last: string; out: string } {
  const r = spawnSync(process.execPath, [countResults, ...args], { cwd: ws, encoding: 'utf8', timeout: 30_000 });
  const lines = r.stdout.trim().split('\n');
  return { status: r.status, last: lines.at(-1) ?? '', out: r.stdout };
}

const PASSING = "import { it, expect } from 'vitest';\nit('adds', () => expect(1 + 1).toBe(2));\nit.skip('later', () => {});\n";

describe('count-results: the closing line of npm test', () => {
  it('sums passed and skipped tests, exit 0 when nothing failed', () => {
    // GIVEN a project with one passing and one skipped test
    ws = mkdtempSync(join(tmpdir(), 'count-results-'));
    project('good', { 'a.test.mjs': PASSING });
    // WHEN the results are counted
    const r = count();
    // THEN
    expect(r.last).toBe('1 passed, 0 failed, 1 skipped');
    expect(r.status).toBe(0);
  }, 90_000);

  it('fails when a test file throws at import: 1 failed, named, exit non-zero', () => {
    // GIVEN a passing file and a file that throws before any test is defined
    ws = mkdtempSync(join(tmpdir(), 'count-results-'));
    project('broken', {
      'a.test.mjs': PASSING,
      'b.test.mjs': "import { it } from 'vitest';\nthrow new Error('cannot import the server harness');\nit('never runs', () => {});\n",
    });
    const r = count();
    expect(r.last).toBe('1 passed, 1 failed, 1 skipped');
    expect(r.out).toContain('FAILED libs/broken/test/b.test.mjs: failed to load: cannot import the server harness');
    expect(r.status).not.toBe(0);
  }, 90_000);

  it('fails every test a throwing beforeAll kept from running (vitest reports them as skipped)', () => {
    ws = mkdtempSync(join(tmpdir(), 'count-results-'));
    project('hook', {
      'a.test.mjs':
        "import { beforeAll, describe, it } from 'vitest';\ndescribe('needs a server', () => {\n  beforeAll(() => { throw new Error('server did not start'); });\n  it('one', () => {});\n  it('two', () => {});\n});\n",
    });
    const r = count();
    expect(r.last).toBe('0 passed, 2 failed, 0 skipped');
    expect(r.out).toContain('suite "needs a server" failed in a hook: server did not start');
    expect(r.status).not.toBe(0);
  }, 90_000);

  it('fails a project whose tests never reported (its test target crashed), unless --present', () => {
    ws = mkdtempSync(join(tmpdir(), 'count-results-'));
    project('good', { 'a.test.mjs': PASSING });
    project('silent', { 'a.test.mjs': PASSING }, false);
    const all = count();
    expect(all.last).toBe('1 passed, 1 failed, 1 skipped');
    expect(all.out).toContain('libs/silent: no test report');
    expect(all.status).not.toBe(0);
    const partial = count('--present');
    expect(partial.last).toBe('1 passed, 0 failed, 1 skipped');
    expect(partial.status).toBe(0);
  }, 90_000);
});
