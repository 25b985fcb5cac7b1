// Synth benchmark: how long rendering every env takes, in one process and as separate CLI runs.
// Anchor, measured in the same run: a bare `node -e ""` start (the floor every CLI call pays).
// Usage: npx nx run deployer:bench   (writes nothing; prints a Markdown table for docs/benchmarks.md)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = new URL('../../../', import.meta.url).pathname;
const main = join(root, 'apps/deployer/dist/main.js');
const envs = ['dev', 'staging', 'prod'];
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const out = mkdtempSync(join(tmpdir(), 'synth-bench-'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (fn) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};

// 1. In-process: import the deployer once, synthesize every env `rounds` times.
const { synthesize } = await import(join(root, 'apps/deployer/dist/index.js'));
synthesize('dev'); // warm-up (module init, first JIT)
const inProc = [];
for (let i = 0; i < rounds; i++) inProc.push(time(() => envs.forEach((e) => synthesize(e))));

// 2. Separate CLI runs, as a user or CI calls it (node start + imports + synth + write).
const nodeStart = [];
const cliAll = [];
for (let i = 0; i < rounds; i++) {
  nodeStart.push(time(() => execFileSync(process.execPath, ['-e', ''])));
  cliAll.push(
    time(() => {
      for (const e of envs) execFileSync(process.execPath, [main, 'synth', `--env=${e}`, '--out', join(out, e), '--output', 'json']);
    }),
  );
}
rmSync(out, { recursive: true, force: true });

const rows = [
  ['bare `node -e ""` start (anchor)', median(nodeStart)],
  ['synth dev+staging+prod, in one process', median(inProc)],
  ['synth dev+staging+prod, 3 CLI runs', median(cliAll)],
];
const anchor = median(nodeStart);
console.log(`synth benchmark: ${rounds} rounds, median ms, node ${process.version}, load ${(await import('node:os')).loadavg()[0].toFixed(2)}`);
console.log('| what | median ms | × node start |');
console.log('|---|---|---|');
for (const [what, ms] of rows) console.log(`| ${what} | ${ms.toFixed(0)} | ${(ms / anchor).toFixed(1)} |`);
const goal = 3000;
const worst = median(cliAll);
console.log(`goal: all envs well under ${goal} ms → ${worst < goal ? 'met' : 'MISSED'} (${worst.toFixed(0)} ms for 3 CLI runs)`);
