import { projectTestConfig } from '@bitpin/test-support/vitest';

export default projectTestConfig(import.meta.dirname, {
  // The cluster tests run against the real control plane from tools/k8s-testenv.
  globalSetup: ['@bitpin/k8s-testenv/vitest-global-setup'],
  // They deploy the platform's fixed namespaces and one inventory per cluster: one file at a time.
  fileParallelism: false,
  testTimeout: 120_000,
  hookTimeout: 120_000,
});
