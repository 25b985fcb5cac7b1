/**
 * The CI's own contract (issue 23):
 *  - tools/scripts/install-system.sh on an apt system whose archive lacks postgresql-15 (a fake
 *    `apt-cache policy` answer, as on Ubuntu 24.04) installs nothing and says so in ONE line;
 *  - the workflow's jobs run in a debian:bookworm container, set up by install-system.sh;
 *  - the Go-built binaries' cache key covers every Go-built tool's version file;
 *  - every shell script is one the lint-shell target both checks and has in its cache inputs.
 * No real apt command runs: apt-get, apt-cache, dpkg-query and sudo are fakes first on PATH.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const installSystem = join(root, 'tools/scripts/install-system.sh');
let dir: string;

/** The packages install-system.sh lists (PACKAGES=( ... )), in order. */
function listedPackages(): string[] {
  const text = readFileSync(installSystem, 'utf8');
  const block = /^PACKAGES=\(\n([\s\S]*?)^\)/m.exec(text);
  if (!block) throw new Error('no PACKAGES=( ... ) in install-system.sh');
  return (block[1] ?? '')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

interface Fakes {
  /** packages dpkg-query reports installed */
  installed: string[];
  /** packages apt-cache policy answers with no candidate ("Candidate: (none)") */
  noCandidate: string[];
  /** packages apt-cache policy does not know at all (empty answer) */
  unknown?: string[];
}

function runInstallSystem(name: string, fakes: Fakes) {
  const bin = join(dir, name, 'bin');
  const log = join(dir, name, 'calls.log');
  mkdirSync(bin, { recursive: true });
  writeFileSync(log, '');
  const fake = (cmd: string, body: string) => {
    writeFileSync(join(bin, cmd), `#!/usr/bin/env bash\necho "${cmd} $*" >>'${log}'\n${body}\n`);
    chmodSync(join(bin, cmd), 0o755);
  };
  fake(
    'dpkg-query',
    `p="\${@: -1}"; case " ${fakes.installed.join(' ')} " in *" $p "*) printf 'install ok installed';; *) exit 1;; esac`,
  );
  fake(
    'apt-cache',
    [
      `[ "$1" = policy ] || exit 1`,
      `p="$2"`,
      `case " ${(fakes.unknown ?? []).join(' ')} " in *" $p "*) exit 0;; esac`,
      `case " ${fakes.noCandidate.join(' ')} " in`,
      `  *" $p "*) printf '%s:\\n  Installed: (none)\\n  Candidate: (none)\\n  Version table:\\n' "$p";;`,
      `  *) printf '%s:\\n  Installed: (none)\\n  Candidate: 1.0-1\\n  Version table:\\n     1.0-1 500\\n' "$p";;`,
      `esac`,
    ].join('\n'),
  );
  fake('apt-get', 'exit 0');
  fake('sudo', 'exec "$@"');
  const r = spawnSync('bash', [installSystem], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ws-checks-ci-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('install-system.sh on a distribution without postgresql-15', () => {
  it('lists postgresql-15 and shellcheck among its packages', () => {
    expect(listedPackages()).toEqual(expect.arrayContaining(['postgresql-15', 'postgresql-client-15', 'shellcheck', 'git', 'ca-certificates']));
  });

  it('refuses in one line, naming every package without a candidate and the fix, and installs nothing', () => {
    const r = runInstallSystem('noble', {
      installed: ['git', 'curl'],
      noCandidate: ['postgresql-15', 'postgresql-client-15'],
      unknown: ['nginx-light'],
    });
    expect(r.status).toBe(2);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatch(/^install-system: ERROR: no install candidate for postgresql-15 postgresql-client-15 nginx-light on /);
    expect(line).toContain('supported is Debian 12 bookworm');
    expect(line).toContain('debian:bookworm container');
    expect(line).toContain('https://wiki.postgresql.org/wiki/Apt');
    expect(line).toContain('nothing was installed');
    expect(r.stdout).toBe('');
    // apt-get update ran once (candidates come from fresh lists), apt-get install never did.
    expect(r.calls.filter((c) => c.startsWith('apt-get '))).toEqual(['apt-get update -qq']);
    // each missing package was asked about, present ones were not
    const asked = r.calls.filter((c) => c.startsWith('apt-cache policy ')).map((c) => c.split(' ')[2]);
    expect(asked).toEqual(listedPackages().filter((p) => !['git', 'curl'].includes(p)));
  });

  it('does nothing at all when every package is already installed', () => {
    const r = runInstallSystem('present', { installed: listedPackages(), noCandidate: ['postgresql-15'] });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`install-system: all ${listedPackages().length} packages present`);
    expect(r.calls.filter((c) => !c.startsWith('dpkg-query '))).toEqual([]);
  });
});

describe('.github/workflows/ci.yml', () => {
  const workflow = readFileSync(join(root, '.github/workflows/ci.yml'), 'utf8');

  it('runs every job in a debian:bookworm container, set up by install-system.sh before anything else', () => {
    const jobs = workflow.slice(workflow.search(/^jobs:\s*$/m)).split(/^ {2}(?=[a-z][\w-]*:\s*$)/m).slice(1);
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    for (const job of jobs) {
      expect(job).toMatch(/^ {4}container: debian:bookworm\s*$/m);
      const steps = job.slice(job.indexOf('steps:'));
      expect(steps.indexOf('bash tools/scripts/install-system.sh')).toBeGreaterThan(-1);
      expect(steps.indexOf('bash tools/scripts/install-system.sh')).toBeLessThan(steps.indexOf('actions/setup-node'));
      expect(job).not.toContain('sudo');
    }
  });

  it("has no separate 'real servers' build step: the cache is only warmed on a miss", () => {
    expect(workflow).not.toMatch(/k8s-testenv\/scripts\/build\.sh|build-prometheus\.sh|build-relabel-check\.sh/);
    expect(workflow).toMatch(/if: steps\.gocache\.outputs\.cache-hit != 'true'/);
  });

  it("keys the Go-built binaries' cache on every Go-built tool's version file", () => {
    const key = /key: (bitpin-bin-.*hashFiles\((.*)\).*)$/m.exec(workflow);
    expect(key).not.toBeNull();
    const patterns = [...(key?.[2] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1] ?? '');
    const toRegExp = (glob: string) =>
      new RegExp(
        '^' +
          glob
            .split('/')
            .map((seg) => (seg === '**' ? '(?:[^/]+/)*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '/'))
            .join('')
            .replace(/\/$/, '') +
          '$',
      );
    const regexps = patterns.map(toRegExp);
    const versionFiles = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*go.mod', '*go.sum', '*versions.json'], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\n')
      // Test fixtures are vendored data (e.g. the deployer's GitOps CRDs and their versions), not built tools.
      .filter((f) => f && !f.includes('node_modules/') && !f.includes('/test/fixtures/'));
    expect(versionFiles).toEqual(expect.arrayContaining(['tools/actionlint/go.mod', 'tools/k8s-testenv/versions.json']));
    for (const f of versionFiles) {
      expect(regexps.some((r) => r.test(f)), `${f} is not in the cache key ${patterns.join(', ')}`).toBe(true);
    }
  });
});

describe('lint-shell', () => {
  it("checks every shell script, each within the target's cache inputs (*.sh, *.bash, .ci/)", () => {
    const listed = execFileSync('bash', [join(root, 'tools/scripts/lint-shell.sh'), '--list'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    expect(listed).toEqual(expect.arrayContaining(['.ci/run', 'tools/scripts/install-system.sh', 'tools/scripts/build-actionlint.sh']));
    for (const f of listed) expect(f, `${f}: name it *.sh (or move it to .ci/) so lint-shell's inputs cover it`).toMatch(/\.(sh|bash)$|^\.ci\//);
  });
});

describe('README', () => {
  it('names exactly the supported system', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const line = readme.split('\n').find((l) => l.startsWith('Requirements:'));
    expect(line).toBeDefined();
    expect(line).toContain('Debian 12 (bookworm)');
    expect(line).not.toMatch(/or Ubuntu/);
  });
});
