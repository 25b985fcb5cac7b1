import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCI, serverDecision, type ServerCheck } from '../src/index.js';

const PG: ServerCheck = { name: 'PostgreSQL 15 (/usr/lib/postgresql/15/bin/postgres)', available: false, installHint: 'run tools/scripts/install-system.sh' };
const LINE = 'PostgreSQL 15 (/usr/lib/postgresql/15/bin/postgres) is missing: run tools/scripts/install-system.sh';

describe('serverDecision', () => {
  it('runs when everything is there, whatever CI says', () => {
    expect(serverDecision([{ ...PG, available: true }], { CI: 'true' })).toEqual({ action: 'run' });
    expect(serverDecision([], {})).toEqual({ action: 'run' });
  });

  it('fails under CI=true or CI=1 with one line naming the missing thing and the install command', () => {
    expect(serverDecision([PG], { CI: 'true' })).toEqual({ action: 'fail', message: LINE });
    expect(serverDecision([PG], { CI: '1' })).toEqual({ action: 'fail', message: LINE });
  });

  it('skips elsewhere (CI unset, empty, false)', () => {
    for (const env of [{}, { CI: '' }, { CI: 'false' }, { CI: '0' }]) expect(serverDecision([PG], env)).toEqual({ action: 'skip', message: LINE });
    expect(isCI({ CI: 'false' })).toBe(false);
  });

  it('names every missing thing on the one line', () => {
    const am: ServerCheck = { name: 'Alertmanager (/usr/bin/prometheus-alertmanager)', available: false, installHint: 'run tools/scripts/install-system.sh' };
    const d = serverDecision([PG, { ...PG, name: 'there', available: true }, am], { CI: 'true' });
    expect(d).toEqual({ action: 'fail', message: `${LINE}; Alertmanager (/usr/bin/prometheus-alertmanager) is missing: run tools/scripts/install-system.sh` });
    expect(d.action === 'fail' && d.message.includes('\n')).toBe(false);
  });
});

interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

const work = mkdtempSync(join(tmpdir(), 'test-support-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs test/fixtures/needs-server.fixture.ts in a child vitest with `ci` as CI; returns its json report. */
function runFixture(ci: string | undefined): Promise<{ code: number | null; output: string; report: Report }> {
  const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
  const out = join(work, `ci-${ci ?? 'unset'}.json`);
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'CI' && k !== 'NODE_ENV'));
  if (ci !== undefined) env['CI'] = ci;
  env['FIXTURE_OUT'] = out;
  const child = spawn(process.execPath, [vitest, 'run', '--config', join(import.meta.dirname, 'fixtures/vitest.config.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, output, report: JSON.parse(readFileSync(out, 'utf8')) as Report });
      } catch (e) {
        reject(new Error(`no report from the child vitest (exit ${code}): ${String(e)}\n${output}`));
      }
    });
  });
}

describe('requireServer in a real vitest run', () => {
  const runs = Promise.all([runFixture('true'), runFixture(undefined)]);

  it('under CI=true the suite fails with the one line, and the run fails', async () => {
    const [{ code, report }] = await runs;
    expect(code).not.toBe(0);
    const tests = report.testResults.flatMap((f) => f.assertionResults);
    const failed = tests.filter((t) => t.status === 'failed');
    expect(failed).toHaveLength(2); // the suite and the .each suite: one failing test each
    expect(failed[1]!.fullName).toBe('frobnicating %i needs Frobnicator 9 (/nonexistent/frob)');
    expect(failed[0]!.fullName).toBe('a suite that needs the frobnicator needs Frobnicator 9 (/nonexistent/frob)');
    expect(failed[0]!.failureMessages.join('\n').split('\n')[0]).toBe('Error: Frobnicator 9 (/nonexistent/frob) is missing: run tools/scripts/install-frob.sh');
    expect(report.numPassedTests).toBe(1); // the suite whose server is there still runs
  }, 60_000);

  it('without CI the suite is skipped: its tests count as skipped, the run passes', async () => {
    const [, { code, output, report }] = await runs;
    expect(code, output).toBe(0);
    expect(report.numFailedTests).toBe(0);
    expect(report.numPendingTests).toBe(4); // two tests, and one per case of the .each suite
    expect(report.numPassedTests).toBe(1);
    expect(output).toContain('Frobnicator 9 (/nonexistent/frob) is missing: run tools/scripts/install-frob.sh');
  }, 60_000);
});
