import { projectTestConfig } from '@bitpin/test-support/vitest';

export default projectTestConfig(import.meta.dirname, {
  // The real-server tests (redis-server, redis_exporter, Prometheus) mostly wait on scrapes.
  testTimeout: 60_000,
  hookTimeout: 60_000,
});
