import { projectTestConfig } from '@bitpin/test-support/vitest';

export default projectTestConfig(import.meta.dirname, {
  // test/vlagent-e2e.test.ts reads pod metadata from the real control plane of tools/k8s-testenv.
  globalSetup: ['@bitpin/k8s-testenv/vitest-global-setup'],
  testTimeout: 120_000,
  hookTimeout: 120_000,
});
