import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { projectTestConfig } from '../vitest.mjs';

const REPORTER = fileURLToPath(new URL('../count-reporter.mjs', import.meta.url));

describe('projectTestConfig', () => {
  it('roots the project, writes test-results/counts.json (the Nx test output) with the counting reporter and passes with no tests', () => {
    const c = projectTestConfig('/repo/libs/x');
    expect(c.root).toBe('/repo/libs/x');
    expect(c.resolve?.conditions).toEqual(['development']);
    expect(c.test?.reporters).toEqual(['default', [REPORTER, { outputFile: 'test-results/counts.json' }]]);
    expect(c.test?.include).toEqual(['src/**/*.test.ts', 'test/**/*.test.ts']);
    expect(c.test?.passWithNoTests).toBe(true);
  });

  it("merges a project's differences over the defaults", () => {
    const c = projectTestConfig('/repo/apps/y', { globalSetup: ['setup.ts'], fileParallelism: false, testTimeout: 120_000 });
    expect(c.test).toMatchObject({ globalSetup: ['setup.ts'], fileParallelism: false, testTimeout: 120_000, environment: 'node', watch: false });
    expect(c.test?.reporters).toEqual(['default', [REPORTER, { outputFile: 'test-results/counts.json' }]]);
  });
});
