/**
 * The root README's "What you just deployed" (issue 24), run as written — `npx nx run …`, in the
 * README's order — against a control plane of this file's own (BITPIN_TESTENV_DIR in a temp dir):
 * the tour applies, rolls back, destroys, stops and wipes env local, which must not touch the
 * shared control plane the other cluster tests use. Each command must exit as the README says (0,
 * or the `# exit N` it names) and print every line the README shows under it (`…` = anything).
 * Also: a wait on a non-terminal that takes 12 s prints progress lines with the elapsed time.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { run } from '../src/index.js';
import { STATUS_SIMULATED_ANNOTATION } from '../src/wait.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function between(text: string, start: string, end: string): string {
  const i = text.indexOf(start);
  const j = text.indexOf(end, i + start.length);
  if (i < 0 || j < 0) throw new Error(`README.md: no "${start}" … "${end}"`);
  return text.slice(i + start.length, j);
}

const SECTION = between(README, '## What you just deployed', '</details>');
const TOUR = between(SECTION, '<!-- local-tour:start -->', '<!-- local-tour:end -->');

interface Step {
  readonly command: string;
  readonly exit: number;
  readonly expected: readonly string[];
}

/** `$ command  # exit N` lines of the tour's console blocks, each with the lines shown under it. */
function parseTour(text: string): Step[] {
  const steps: { command: string; exit: number; expected: string[] }[] = [];
  for (const block of text.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      if (line.startsWith('$ ')) {
        const [command, comment] = line.slice(2).split(/\s+#\s*/);
        steps.push({ command: command!.trim(), exit: Number(/exit (\d+)/.exec(comment ?? '')?.[1] ?? 0), expected: [] });
      } else if (line.trim()) {
        steps.at(-1)!.expected.push(line);
      }
    }
  }
  return steps;
}

/** A README output line as a pattern: `…` matches anything, a run of spaces any run of spaces. */
function linePattern(line: string): RegExp {
  const parts = line.trim().split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+'));
  return new RegExp(`^${parts.join('.*')}$`);
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');

/** Runs a README command in the workspace root with this file's state dir; stdout and stderr together. */
function sh(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, lines: out.replace(ANSI, '').split('\n').map((l) => l.trim()) }));
  });
}

function expectPrinted(step: string, lines: readonly string[], expected: readonly string[]): void {
  for (const e of expected) {
    const re = linePattern(e);
    expect(lines.some((l) => re.test(l)), `${step}: no output line matches the README's "${e.trim()}"; it printed:\n${lines.filter(Boolean).join('\n')}`).toBe(true);
  }
}

const work = mkdtempSync(join(tmpdir(), 'deployer-readme-'));
// Named `state` like the default dir, so `wipe` prints what the README shows.
const stateDir = join(work, 'state');
/** The environment every README command runs with: this file's control plane, a fresh Nx (not the test runner's). */
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries({ ...process.env, BITPIN_TESTENV_DIR: stateDir, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' }).filter(
    ([k]) => !(k.startsWith('NX_') && !['NX_DAEMON', 'NX_NO_CLOUD'].includes(k)) && !k.startsWith('VITEST') && k !== 'NODE_ENV',
  ),
);
// Loaded lazily, as the deployer itself loads the test control plane only for embedded envs.
let testenv: typeof import('@bitpin/k8s-testenv');
let own: Awaited<ReturnType<typeof testenv.up>>;
let shared: Awaited<ReturnType<typeof testenv.status>>;

beforeAll(async () => {
  testenv = await import('@bitpin/k8s-testenv');
  shared = await testenv.status();
  own = await testenv.up({ env, startedBy: 'manual' });
  expect(own.stateDir).toBe(stateDir);
}, 180_000);

afterAll(async () => {
  await testenv?.wipe({ env }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('README "What you just deployed"', () => {
  it('names the real kubeconfig path, the README commands parse, and the simulation annotation is the one k8s-testenv sets', () => {
    // The kubeconfig `up` writes when neither BITPIN_TESTENV_DIR nor BITPIN_CACHE is set (a newcomer's machine).
    const defaultKubeconfig = join(testenv.stateDir({ HOME: homedir() }), 'kubeconfig');
    expect(SECTION).toContain(`\`${defaultKubeconfig.replace(homedir(), '~')}\``);
    const steps = parseTour(TOUR);
    expect(steps.map((s) => s.command.split(' ').slice(0, 4).join(' '))).toEqual([
      'npx nx run deployer:status',
      'npx nx run k8s-testenv:kubectl',
      'npx nx run k8s-testenv:kubectl',
      'npx nx run deployer:diff',
      'npx nx run deployer:apply',
      'npx nx run deployer:history',
      'npx nx run deployer:rollback',
      'npx nx run deployer:destroy',
      'npx nx run k8s-testenv:down',
      'npx nx run k8s-testenv:up',
      'npx nx run k8s-testenv:wipe',
    ]);
    expect(STATUS_SIMULATED_ANNOTATION).toBe(testenv.STATUS_SIMULATED_ANNOTATION);
  });

  it('a wait on a non-terminal that takes 12 s prints a progress line every 5 s with the elapsed time and what it waits for', async () => {
    // GIVEN a Deployment whose pods never get ready (kwok keeps them in CrashLoopBackOff)
    const dir = mkdtempSync(join(work, 'never-ready-'));
    const labels = { app: 'never-ready' };
    const objects = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'readme-wait' } },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'never-ready', namespace: 'readme-wait' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels: { ...labels, 'k8s-testenv.bitpin.io/never-ready': 'true' } },
            spec: { containers: [{ name: 'app', image: `docker.io/library/busybox@sha256:${'e'.repeat(64)}` }] },
          },
        },
      },
    ];
    writeFileSync(join(dir, 'all.yaml'), objects.map((o) => stringify(o)).join('---\n'));
    // WHEN applied with a 12 s timeout, the output going to a log (no terminal)
    const stderr: string[] = [];
    const io = { stdout: () => undefined, stderr: (l: string) => stderr.push(l), tty: false };
    const code = await run(['apply', '--env=local', `--from=${dir}`, '--timeout=12s', '--kubeconfig', own.kubeconfigPath], io);
    // THEN it is not ready (exit 1), and the wait printed lines at its start and every 5 s after
    expect(code).toBe(1);
    const waits = stderr.filter((l) => l.startsWith('wait: '));
    const elapsed = waits.map((l) => Number(/ready after (\d+)s/.exec(l)?.[1]));
    expect(waits.length, stderr.join('\n')).toBeGreaterThanOrEqual(2);
    expect(elapsed.every((s) => Number.isInteger(s))).toBe(true);
    expect(Math.max(...elapsed) - Math.min(...elapsed)).toBeGreaterThanOrEqual(5);
    for (const l of waits) expect(l).toMatch(/^wait: 0\/1 ready after \d+s — waiting for Deployment\/readme-wait\/never-ready: /);
    // (clean up: the tour starts from an empty cluster, as after a first `npm run setup`)
    const destroyErr: string[] = [];
    const destroyed = await run(['destroy', '--env=local', '--confirm=local', '--include-data', '--kubeconfig', own.kubeconfigPath], { ...io, stderr: (l) => destroyErr.push(l) });
    expect(destroyed, destroyErr.join('\n')).toBe(0);
  }, 120_000);

  it('after the main job of `npm run setup` (deployer:apply --env=local), every command works and prints what the README shows', async () => {
    // The commands reach this file's control plane, not the shared one.
    const server = await sh("npx nx run k8s-testenv:kubectl -- config view --minify -o 'jsonpath={.clusters[0].cluster.server}'", env);
    expect(server.lines, server.lines.join('\n')).toContain(own.server);

    // GIVEN env local deployed on a fresh control plane, as `npm run setup` does it: every object ready, the simulation named, no warning
    const setup = await sh('npx nx run deployer:apply --env=local', env);
    expect(setup.code, setup.lines.join('\n')).toBe(0);
    const readyLine = /`(ready: [^`]+)`/.exec(SECTION)?.[1]?.replace(/\s+/g, ' ');
    expect(readyLine).toBeDefined();
    expectPrinted('npm run setup (deployer:apply --env=local)', setup.lines, [readyLine!]);
    expect(setup.lines.filter((l) => l.startsWith('warning:'))).toEqual([]);

    for (const step of parseTour(TOUR)) {
      const r = await sh(step.command, env);
      expect(r.code, `${step.command} exited ${r.code}:\n${r.lines.filter(Boolean).join('\n')}`).toBe(step.exit);
      expectPrinted(step.command, r.lines, step.expected);
      if (step.command.startsWith('npx nx run deployer:status')) {
        // Every object the section's table names is one `status` lists, and every workload it lists is in the table.
        for (const ref of SECTION.matchAll(/`([A-Z][A-Za-z]+\/[a-z0-9-]+\/[a-z0-9-]+)`/g)) {
          expect(r.lines.some((l) => l.includes(` ${ref[1]}`)), `status lists no ${ref[1]}`).toBe(true);
        }
        for (const l of r.lines) {
          const workload = /^[✓✗·?] ((?:Deployment|StatefulSet|DaemonSet|CronJob|Job|Cluster|Pooler)\/\S+)/.exec(l)?.[1];
          if (workload) expect(SECTION, `README "What you just deployed" does not name ${workload}`).toContain(`\`${workload}\``);
        }
      }
    }
    // The tour ended with wipe: this file's state dir is gone; the shared control plane is as it was.
    expect(existsSync(stateDir)).toBe(false);
    if (shared) expect(await testenv.status(), 'the shared control plane stopped during the tour').toBeDefined();
  }, 900_000);
});
