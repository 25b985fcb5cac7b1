// @ts-check
/**
 * The one vitest configuration every project starts from. Plain JavaScript on purpose: Vite loads
 * `vitest.config.ts` with Node before the `development` condition applies, so what a config imports
 * must run without a build. Types: vitest.d.mts.
 */
import { defineConfig } from 'vitest/config';

/**
 * Each project's `vitest.config.ts` calls this with its own directory so that results land in
 * `<project>/test-results/vitest.json` (declared as the Nx `test` output: a cache hit restores it,
 * so tools/scripts/test.sh can count passed/failed tests across projects).
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
      reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
      passWithNoTests: true,
      ...overrides,
    },
  });
}
