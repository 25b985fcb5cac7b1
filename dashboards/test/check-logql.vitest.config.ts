import { projectTestConfig } from '@bitpin/test-support/vitest';
import { resolve } from 'node:path';

// `npx nx run dashboards:check-logql` (LOKI_URL set): the dashboards' LogQL on a real Loki. Not a
// test of dashboards:test (not named *.test.ts), and no json report (test-results/ counts the tests).
export default projectTestConfig(resolve(import.meta.dirname, '..'), {
  include: ['test/logql-on-loki.check.ts'],
  reporters: ['default'],
  passWithNoTests: false,
});
