import { projectTestConfig } from './vitest.mjs';

// The test-support's own tests; the other projects import this file as @bitpin/test-support/vitest.
export default projectTestConfig(import.meta.dirname);
