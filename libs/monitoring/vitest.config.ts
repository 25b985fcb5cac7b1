import { projectTestConfig } from '@bitpin/test-support/vitest';

export default projectTestConfig(import.meta.dirname, {
  // The deployed Prometheus/Alertmanager versions, built from their Go modules (cached).
  globalSetup: ['test/support/global-setup.ts'],
  // The real-binary tests mostly wait (scrape intervals, group_wait): run the files side by side.
  maxWorkers: 3,
});
