// Sums every project's test counts into the one line CI and the README read:
//   "N passed, N failed, N skipped"
// Each project's vitest run writes test-results/counts.json (tools/scripts/count-reporter.mjs,
// which counts a file that fails to load and a suite whose hook throws as failed). A project that
// has tests (a vitest config) but no counts.json after the run crashed or never ran: 1 failed.
// Exit status: 0 only when nothing failed.
//
// Usage (from the workspace root, after `nx run-many -t test`):
//   node tools/scripts/count-results.mjs            every project with a vitest config must report
//   node tools/scripts/count-results.mjs --present  only count the reports that exist (a partial run)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const presentOnly = process.argv.includes('--present');
const roots = ['apps', 'libs', 'tools']
  .flatMap((top) => (existsSync(top) ? readdirSync(top).map((d) => join(top, d)) : []))
  .concat(existsSync('dashboards') ? ['dashboards'] : [])
  .filter((root) => ['vitest.config.ts', 'vitest.config.mts', 'vitest.config.mjs', 'vitest.config.js'].some((f) => existsSync(join(root, f))))
  .sort();

let passed = 0;
let failed = 0;
let skipped = 0;
const lines = [];
const problems = [];
for (const root of roots) {
  const file = join(root, 'test-results', 'counts.json');
  if (!existsSync(file)) {
    if (presentOnly) continue;
    failed += 1;
    lines.push(`${root}: no test report (its test target failed before its tests ran, or did not run): 1 failed`);
    continue;
  }
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    failed += 1;
    lines.push(`${root}: unreadable test report ${file} (${err.message}): 1 failed`);
    continue;
  }
  passed += report.passed ?? 0;
  failed += report.failed ?? 0;
  skipped += report.skipped ?? 0;
  lines.push(`${root}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
  for (const p of report.problems ?? []) problems.push(`${root}/${p}`);
}
for (const line of lines) console.log(`  ${line}`);
for (const p of problems) console.log(`  FAILED ${p}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
