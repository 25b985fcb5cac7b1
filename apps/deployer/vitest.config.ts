import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  resolve: { conditions: ['development'] },
  ssr: { resolve: { conditions: ['development'], externalConditions: ['development'] } },
  test: {
    watch: false,
    environment: 'node',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The cluster tests run against the real control plane from tools/k8s-testenv.
    globalSetup: ['@bitpin/k8s-testenv/vitest-global-setup'],
    // They deploy the platform's fixed namespaces and one inventory per cluster: one file at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // test-results/ is the Nx `test` output: a cache hit restores it so tools/scripts/test.sh can count.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    passWithNoTests: true,
  },
});
