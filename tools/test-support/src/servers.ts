/**
 * Suites that need a real server binary (PostgreSQL, Prometheus, …) are never silently skipped in
 * CI: when the binary is missing and CI is set they fail with one line naming what is missing and
 * how to install it; on a developer's machine they are skipped (and counted as skipped).
 */
import { existsSync } from 'node:fs';
import { describe, it, type TestOptions } from 'vitest';

/** True when `CI` is `true` or `1` (GitHub Actions and tools/scripts/test.sh set it). */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['CI'] === 'true' || env['CI'] === '1';
}

/** What to do with a suite that needs a server. */
export type ServerDecision =
  | { readonly action: 'run' }
  | { readonly action: 'fail'; readonly message: string }
  | { readonly action: 'skip'; readonly message: string };

/** One thing a suite needs. */
export interface ServerCheck {
  /** What is needed, as a person would name it (e.g. `PostgreSQL 15 (/usr/lib/postgresql/15/bin/postgres)`). */
  readonly name: string;
  readonly available: boolean;
  /** How to get it, e.g. `run tools/scripts/install-system.sh`. */
  readonly installHint: string;
}

/** The decision for `checks` under `env`; the message is one line naming every missing thing. */
export function serverDecision(checks: readonly ServerCheck[], env: NodeJS.ProcessEnv = process.env): ServerDecision {
  const missing = checks.filter((c) => !c.available);
  if (missing.length === 0) return { action: 'run' };
  const message = missing.map((c) => `${c.name} is missing: ${c.installHint}`).join('; ');
  return isCI(env) ? { action: 'fail', message } : { action: 'skip', message };
}

/** A `describe` that runs, fails or skips its suite as its ServerDecision says. */
export interface ServerSuite {
  (title: string, factory: () => void): void;
  (title: string, options: TestOptions, factory: () => void): void;
  /** `describe.each(cases)`: one suite per case (vitest's title formatting), or one failing / skipped set. */
  each<T>(cases: readonly T[]): (title: string, factory: (c: T) => void) => void;
  readonly decision: ServerDecision;
}

/** The first of `paths` that does not exist, or undefined. */
export function missingFile(paths: readonly string[]): string | undefined {
  return paths.find((p) => !existsSync(p));
}

/**
 * `describe` for a suite that needs `name`:
 * - available: the suite runs;
 * - missing and CI=true/1: the suite fails with one test whose error is the one line
 *   `<name> is missing: <installHint>` (its own tests are not collected);
 * - missing elsewhere: the suite is skipped (its tests count as skipped) and the line is printed.
 */
export function requireServer(name: string, available: boolean, installHint: string): ServerSuite {
  return requireServers([{ name, available, installHint }]);
}

/** requireServer for several needs at once; the line names every missing one. */
export function requireServers(checks: readonly ServerCheck[], env: NodeJS.ProcessEnv = process.env): ServerSuite {
  const decision = serverDecision(checks, env);
  const missing = checks.filter((c) => !c.available).map((c) => c.name).join(', ');
  /** Under CI with something missing: one suite with one test failing with the one line. */
  const failing = (title: string, options: TestOptions): void => {
    if (decision.action !== 'fail') return;
    const message = decision.message;
    describe(title, options, () => {
      it(`needs ${missing}`, () => {
        const err = new Error(message);
        err.stack = `Error: ${message}`;
        throw err;
      });
    });
  };
  const suite = (title: string, a: TestOptions | (() => void), b?: () => void): void => {
    const factory = typeof a === 'function' ? a : b;
    const options: TestOptions = typeof a === 'function' ? {} : a;
    if (!factory) throw new Error(`requireServer: "${title}" has no suite function`);
    if (decision.action === 'run') {
      describe(title, options, factory);
    } else if (decision.action === 'skip') {
      console.warn(`skipping "${title}": ${decision.message} (under CI=true this fails)`);
      describe.skip(title, options, factory);
    } else {
      failing(title, options);
    }
  };
  const each =
    <T>(cases: readonly T[]) =>
    (title: string, factory: (c: T) => void): void => {
      if (decision.action === 'run') {
        describe.each(cases as T[])(title, factory);
      } else if (decision.action === 'skip') {
        console.warn(`skipping "${title}": ${decision.message} (under CI=true this fails)`);
        describe.skip.each(cases as T[])(title, factory);
      } else {
        failing(title, {});
      }
    };
  return Object.assign(suite, { decision, each }) as ServerSuite;
}
