import type { ViteUserConfig } from 'vitest/config';

/**
 * The one vitest configuration every project starts from (see vitest.mjs): root `dir`, the
 * `development` condition, `src/**` and `test/**` `*.test.ts`, the json reporter to
 * `test-results/vitest.json` (the Nx `test` output), passWithNoTests; `overrides` merged over it.
 */
export declare function projectTestConfig(dir: string, overrides?: ViteUserConfig['test']): ViteUserConfig;
