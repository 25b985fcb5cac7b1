import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  resolve: { conditions: ['development'] },
  ssr: { resolve: { conditions: ['development'], externalConditions: ['development'] } },
  test: {
    watch: false,
    environment: 'node',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Starts (or reuses) the local control plane once per run; see README "How tests use it".
    globalSetup: ['@bitpin/k8s-testenv/vitest-global-setup'],
    // Tests wait on a real API server and controllers: I/O bound, so more files than cores is fine.
    maxWorkers: 4,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // test-results/ is the Nx `test` output: a cache hit restores it so tools/scripts/test.sh can count.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    passWithNoTests: true,
  },
});
