import { ConfigError } from '../../src/index.js';

/** The ConfigError `fn` throws; fails the test when it throws something else or nothing. */
export function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError, got none');
}
