/**
 * The Python unit tests (test/python/test_*.py, stdlib unittest) of the programs lib.sh runs
 * (scripts/bitpin_inflate.py, scripts/bitpin_sha256.py), one vitest test per Python test case, so
 * they are counted with the others and a Python failure fails the suite. The cases are listed when
 * this file loads (a module that does not import is listed as a failing case) and run in one
 * python3 process before the tests; each test asserts its case passed, with the traceback.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const runner = fileURLToPath(new URL('./python/run_tests.py', import.meta.url));

interface Outcome {
  outcome: 'passed' | 'failed' | 'error' | 'skipped';
  detail: string;
}

function python(command: 'list' | 'run'): unknown {
  const r = spawnSync('python3', ['-B', runner, command], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`python3 ${runner} ${command}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`python3 ${runner} ${command} exited with ${r.status}:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

const ids = python('list') as string[];
if (ids.length === 0) throw new Error(`${runner} found no Python tests`);

describe('Python unit tests (test/python)', () => {
  let results: Record<string, Outcome> = {};
  beforeAll(() => {
    results = python('run') as Record<string, Outcome>;
  }, 120_000);

  for (const id of ids) {
    it(id, (ctx) => {
      const r = results[id];
      expect(r, `no result for ${id}`).toBeDefined();
      if (r!.outcome === 'skipped') ctx.skip();
      expect(r!.outcome, r!.detail).toBe('passed');
    });
  }
});
