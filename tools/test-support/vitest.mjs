// @ts-check
/**
 * The one vitest configuration every project starts from. Plain JavaScript on purpose: Vite loads
 * `vitest.config.ts` with Node before the `development` condition applies, so what a config imports
 * must run without a build. Types: vitest.d.mts.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Counts passed/failed/skipped with load and hook failures as failed (tools/scripts/count-results.mjs sums them). */
const COUNT_REPORTER = fileURLToPath(new URL('./count-reporter.mjs', import.meta.url));

/**
 * Each project's `vitest.config.ts` calls this with its own directory so that results land in
 * `<project>/test-results/counts.json` (./count-reporter.mjs; `test-results/` is declared as the
 * Nx `test` output: a cache hit restores them, so tools/scripts/count-results.mjs can sum the
 * passed, failed and skipped tests across projects).
 *
 * @param {string} dir the project directory (`import.meta.dirname`)
 * @param {import('vitest/config').ViteUserConfig['test']} [overrides] the project's real
 *   differences (globalSetup, fileParallelism, maxWorkers, timeouts); merged over the defaults
 * @returns {import('vitest/config').ViteUserConfig}
 */
export function projectTestConfig(dir, overrides = {}) {
  return defineConfig({
    root: dir,
    resolve: { conditions: ['development'] },
    ssr: { resolve: { conditions: ['development'], externalConditions: ['development'] } },
    test: {
      watch: false,
      environment: 'node',
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      reporters: ['default', [COUNT_REPORTER, { outputFile: 'test-results/counts.json' }]],
      passWithNoTests: true,
      ...overrides,
    },
  });
}
