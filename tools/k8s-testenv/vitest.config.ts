import { projectTestConfig } from '@bitpin/test-support/vitest';

export default projectTestConfig(import.meta.dirname, {
  // Starts (or reuses) the local control plane once per run; see README "How tests use it".
  globalSetup: ['@bitpin/k8s-testenv/vitest-global-setup'],
  // Tests wait on a real API server and controllers: I/O bound, so more files than cores is fine.
  maxWorkers: 4,
  testTimeout: 60_000,
  hookTimeout: 60_000,
});
