import { type ViteUserConfig } from 'vitest/config';
/**
 * The one vitest configuration every project starts from. Each project's `vitest.config.ts`
 * calls this with its own directory so that results land in `<project>/test-results/`
 * (declared as the Nx `test` output, so a cache hit restores them and `tools/scripts/test.sh`
 * can count passed/failed tests across projects).
 */
export declare function projectTestConfig(dir: string, overrides?: ViteUserConfig['test']): ViteUserConfig;
//# sourceMappingURL=vitest.shared.d.ts.map