import { projectTestConfig } from '@bitpin/test-support/vitest';
import { resolve } from 'node:path';

// `npx nx run database:bench`: pgbench -C through PgBouncer vs direct (bench/pooling.bench.test.ts). Not a
// test of database:test (not under test/), and no json report (test-results/ counts the tests).
export default projectTestConfig(resolve(import.meta.dirname, '..'), {
  include: ['bench/pooling.bench.test.ts'],
  reporters: ['default'],
  passWithNoTests: false,
  testTimeout: 600_000,
  hookTimeout: 120_000,
});
