// A vitest reporter (wired into every project by ./vitest.mjs) that writes what the workspace's closing line needs into
// `<project>/test-results/counts.json` (the Nx `test` output, so a cache hit restores it):
//
//   { "passed": N, "failed": N, "skipped": N, "problems": ["<file>: <one line>", …] }
//
// vitest's own JSON report cannot tell these apart, so they are counted here:
// - a test file that fails to load (a throw at import, a syntax error) → 1 failed (it ran nothing);
// - a suite whose beforeAll/afterAll throws → every test it then did not run counts as failed
//   (vitest reports them as "skipped"), at least 1;
// - an unhandled error during the run → 1 failed each;
// - a run that ends with no report at all (the test target crashed) is caught by count-results.mjs.
// Tests skipped on purpose (it.skip, skipIf, todo) count as skipped.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const oneLine = (e) => String(e?.message ?? e ?? 'unknown error').split('\n').find((l) => l.trim()) ?? 'unknown error';

/** Counts the finished test modules; exported for the reporter's own tests. */
export function countModules(testModules, unhandledErrors = [], root = process.cwd()) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const problems = [];
  for (const mod of testModules) {
    const file = relative(root, mod.moduleId);
    let modFailed = 0;
    // A test skipped without asking (mode "run") was skipped by a failing hook of its suite.
    const brokenSuites = [mod, ...mod.children.allSuites()].filter((s) => s.state() === 'failed' && s.errors().length > 0);
    const victims = new Set();
    for (const suite of brokenSuites) {
      const lost = [...suite.children.allTests()].filter((t) => t.result().state !== 'passed' && t.result().state !== 'failed' && t.options.mode === 'run');
      for (const t of lost) victims.add(t);
      const what = suite === mod ? (mod.children.size === 0 ? 'failed to load' : 'failed outside its tests') : `suite "${suite.fullName}" failed in a hook`;
      problems.push(`${file}: ${what}: ${oneLine(suite.errors()[0])}`);
      if (lost.length === 0) modFailed += 1;
    }
    for (const t of mod.children.allTests()) {
      const state = t.result().state;
      if (state === 'passed') passed += 1;
      else if (state === 'failed' || victims.has(t)) modFailed += 1;
      else skipped += 1;
    }
    failed += modFailed;
  }
  for (const e of unhandledErrors) {
    failed += 1;
    problems.push(`unhandled error: ${oneLine(e)}`);
  }
  return { passed, failed, skipped, problems };
}

export default class CountReporter {
  constructor(options = {}) {
    this.outputFile = options.outputFile ?? 'test-results/counts.json';
  }

  onInit(vitest) {
    this.root = vitest.config.root;
  }

  onTestRunEnd(testModules, unhandledErrors) {
    const root = this.root ?? process.cwd();
    const counts = countModules(testModules, unhandledErrors, root);
    const out = join(root, this.outputFile);
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(out, JSON.stringify(counts, null, 2) + '\n');
  }
}
