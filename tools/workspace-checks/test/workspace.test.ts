/**
 * The workspace's own architecture, checked on a throwaway clone of the committed tree (so
 * nothing here can disturb the real projects or another test running in parallel):
 *  - `nx affected` picks a changed project plus exactly its dependents;
 *  - lint rejects imports that break the module boundaries and accepts allowed ones.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
let clone: string;

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1' };

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: clone, encoding: 'utf8', env }).trim();
}

function affected(): string[] {
  const out = execFileSync('npx', ['nx', 'show', 'projects', '--affected', '--base=HEAD~1', '--head=HEAD'], {
    cwd: clone,
    encoding: 'utf8',
    env,
  });
  return out.split('\n').filter(Boolean).sort();
}

function commitChange(file: string, text: string): void {
  appendFileSync(join(clone, file), text);
  git('add', '-A');
  git('commit', '-q', '-m', `change ${file}`);
}

beforeAll(() => {
  clone = mkdtempSync(join(tmpdir(), 'ws-checks-'));
  execFileSync('git', ['clone', '-q', '--no-hardlinks', root, clone], { env });
  git('config', 'user.email', 'checks@bitpin.invalid');
  git('config', 'user.name', 'workspace checks');
  // Share the installed packages, but point the workspace's own @bitpin/* packages at the
  // clone's projects: otherwise imports resolve into the real repo and look external.
  const nm = join(clone, 'node_modules');
  mkdirSync(nm);
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry !== '@bitpin' && entry !== '.bin') symlinkSync(join(root, 'node_modules', entry), join(nm, entry));
  }
  symlinkSync(join(root, 'node_modules', '.bin'), join(nm, '.bin'));
  mkdirSync(join(nm, '@bitpin'));
  for (const pkg of readdirSync(join(root, 'node_modules', '@bitpin'))) {
    const target = readlinkSync(join(root, 'node_modules', '@bitpin', pkg)); // e.g. ../../libs/app
    const project = relative(root, resolve(join(root, 'node_modules', '@bitpin'), target));
    symlinkSync(join(clone, project), join(nm, '@bitpin', pkg));
  }
}, 60_000);

afterAll(() => {
  if (clone) rmSync(clone, { recursive: true, force: true });
});

/**
 * The expected answer, derived without Nx: the changed project, every project whose package.json
 * depends on it (transitively), and workspace-checks itself (its test reads the whole workspace,
 * so its inputs cover every project's files).
 */
function declaredDependents(project: string): string[] {
  const manifests = ['apps', 'libs', 'tools']
    .flatMap((top) => readdirSync(join(root, top)).map((d) => join(root, top, d, 'package.json')))
    .concat(join(root, 'dashboards', 'package.json'))
    .filter((f) => existsSync(f))
    .map((f) => JSON.parse(readFileSync(f, 'utf8')) as { name: string; nx: { name: string }; dependencies?: Record<string, string> });
  const byPkg = new Map(manifests.map((m) => [m.name, m.nx.name]));
  const out = new Set([project, 'workspace-checks']);
  for (let grew = true; grew; ) {
    grew = false;
    for (const m of manifests) {
      if (out.has(m.nx.name)) continue;
      if (Object.keys(m.dependencies ?? {}).some((d) => out.has(byPkg.get(d) ?? '') && byPkg.get(d) !== 'workspace-checks')) {
        out.add(m.nx.name);
        grew = true;
      }
    }
  }
  return [...out].sort();
}

describe('nx affected picks exactly what a change touches', () => {
  it('a change to libs/app affects app and the deployer that composes it, nothing else', () => {
    commitChange('libs/app/src/index.ts', '\n// touched by a test\n');
    expect(affected()).toEqual(['app', 'deployer', 'workspace-checks']);
    expect(affected()).toEqual(declaredDependents('app'));
  }, 60_000);

  it('a change to the metric contract affects exactly its declared dependents (sidecar, dashboards, …)', () => {
    commitChange('libs/metrics-contract/src/index.ts', '\n// touched by a test\n');
    const projects = affected();
    expect(projects).toEqual(declaredDependents('metrics-contract'));
    expect(projects).toEqual(expect.arrayContaining(['metrics-sidecar', 'dashboards', 'deployer']));
    expect(projects).not.toContain('app');
  }, 60_000);

  it('a change to the deployer affects only the deployer (and the workspace checks)', () => {
    commitChange('apps/deployer/src/index.ts', '\n// touched by a test\n');
    expect(affected()).toEqual(['deployer', 'workspace-checks']);
  }, 60_000);

  it('a change to libs/config affects every project that reads config, and not the sidecar', () => {
    commitChange('libs/config/src/index.ts', '\n// touched by a test\n');
    const projects = affected();
    expect(projects).toEqual(declaredDependents('config'));
    expect(projects).toEqual(expect.arrayContaining(['config', 'k8s', 'app', 'database', 'backup', 'monitoring', 'logging', 'dashboards', 'deployer']));
    expect(projects).not.toContain('metrics-sidecar');
    expect(projects).not.toContain('metrics-contract');
  }, 60_000);

  it('a change outside every project (the architecture doc) affects nothing', () => {
    commitChange('docs/architecture.md', '\n<!-- touched by a test -->\n');
    expect(affected()).toEqual([]);
  }, 60_000);
});

describe('lint enforces the module boundaries', () => {
  function lint(file: string, source: string): { status: number; output: string } {
    writeFileSync(join(clone, file), source);
    const r = spawnSync('npx', ['eslint', '--no-warn-ignored', file], { cwd: clone, encoding: 'utf8', env });
    rmSync(join(clone, file));
    return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
  }

  it('fails when a library imports an app', () => {
    const r = lint('libs/app/src/probe-app.ts', "export { run } from '@bitpin/deployer';\n");
    expect(r.status).toBe(1);
    // The deployer imports libs/app, so nx reports the cycle first; either way the import fails lint.
    expect(r.output).toMatch(/error .*(Circular dependency between "app" and "deployer"|A project tagged with "type:manifests" can only depend)/);
    expect(r.output).toMatch(/@nx\/enforce-module-boundaries/);
  }, 60_000);

  it('fails when a manifest library imports another manifest library', () => {
    const r = lint('libs/app/src/probe-db.ts', "export { BitpinCluster } from '@bitpin/database';\n");
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/A project tagged with "type:manifests" can only depend on libs tagged with "type:construct", "type:config", "type:contract"/);
  }, 60_000);

  it('fails when dashboards import the shared constructs', () => {
    const r = lint('dashboards/src/probe.ts', "export { PlatformChart } from '@bitpin/k8s';\n");
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/A project tagged with "type:dashboards" can only depend on libs tagged with/);
  }, 60_000);

  it('fails when a library source imports the test support (type:testing is for tests only)', () => {
    const r = lint('libs/app/src/probe-testing.ts', "export { freePort } from '@bitpin/test-support';\n");
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/A project tagged with "type:manifests" can only depend on libs tagged with "type:construct", "type:config", "type:contract"/);
  }, 60_000);

  it('passes the test support imported from a test file', () => {
    const r = lint('libs/app/test/probe-testing.test.ts', "export { freePort } from '@bitpin/test-support';\n");
    expect(r.output).not.toMatch(/enforce-module-boundaries/);
    expect(r.status).toBe(0);
  }, 60_000);

  it('passes an allowed import (a manifest library reading config)', () => {
    const r = lint('libs/app/src/probe-ok.ts', "export { SEED } from '@bitpin/config';\n");
    expect(r.output).not.toMatch(/enforce-module-boundaries/);
    expect(r.status).toBe(0);
  }, 60_000);
});
