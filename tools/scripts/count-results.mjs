// Sums the vitest JSON reports of every project into the one line CI reads: "N passed, N failed".
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['apps', 'libs', 'tools'].flatMap((top) =>
  existsSync(top) ? readdirSync(top).map((d) => join(top, d)) : [],
);
roots.push('dashboards');

let passed = 0;
let failed = 0;
const perProject = [];
for (const root of roots) {
  const file = join(root, 'test-results', 'vitest.json');
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
  perProject.push(`${root}: ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
}
for (const line of perProject) console.log(`  ${line}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
