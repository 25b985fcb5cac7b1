import { projectTestConfig } from '@bitpin/test-support/vitest';

export default projectTestConfig(import.meta.dirname, {
  // test/api-server.test.ts applies the pooling objects to the real control plane of tools/k8s-testenv.
  globalSetup: ['@bitpin/k8s-testenv/vitest-global-setup'],
  testTimeout: 120_000,
  hookTimeout: 120_000,
});
