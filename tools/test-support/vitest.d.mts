import type { ViteUserConfig } from 'vitest/config';

/**
 * The one vitest configuration every project starts from (see vitest.mjs): root `dir`, the
 * `development` condition, `src/**` and `test/**` `*.test.ts`, the counting reporter to
 * `test-results/counts.json` (count-reporter.mjs; the Nx `test` output), passWithNoTests;
 * `overrides` merged over it.
 */
export declare function projectTestConfig(dir: string, overrides?: ViteUserConfig['test']): ViteUserConfig;
