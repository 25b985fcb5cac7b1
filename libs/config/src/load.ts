import type { z } from 'zod';
import { SEED_DEFAULTS } from './defaults.js';
import { deepMerge, type DeepPartial, type EnvDefinition } from './define.js';
import { dev } from './envs/dev.js';
import { local } from './envs/local.js';
import { prod } from './envs/prod.js';
import { staging } from './envs/staging.js';
import { envConfigSchema, type EnvConfig, type EnvConfigInput } from './schema.js';

/** The environments this repository knows, in promotion order. */
export const ENVIRONMENTS: readonly EnvDefinition[] = [local, dev, staging, prod];
export const ENV_NAMES: readonly string[] = ENVIRONMENTS.map((e) => e.name);

export type ConfigErrorCode = 'ENV_UNKNOWN' | 'CONFIG_INVALID';

/**
 * A configuration problem. `message` holds one line per problem, each naming the env, the
 * config path, what is wrong and where to fix it. Config holds no secrets, so values are shown.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly code: ConfigErrorCode,
    readonly lines: readonly string[],
  ) {
    super(lines.join('\n'));
  }
}

export interface LoadOptions {
  /** Applied on top of the env's own file, e.g. `--image app=…` from the deployer's command line. */
  readonly overrides?: DeepPartial<EnvConfigInput>;
  /** Where `overrides` came from, for error messages. @default "command-line overrides" */
  readonly overridesSource?: string;
}

/** Loads and validates one env. Throws {@link ConfigError}. */
export function loadEnvConfig(name: string, options: LoadOptions = {}): EnvConfig {
  const def = ENVIRONMENTS.find((e) => e.name === name);
  if (!def) {
    throw new ConfigError('ENV_UNKNOWN', [
      `unknown env "${name}"; known envs: ${ENV_NAMES.join(', ')} (add one in libs/config/src/envs/)`,
    ]);
  }
  const fromFile = deepMerge(structuredClone(SEED_DEFAULTS) as unknown, def.overrides);
  const merged = deepMerge(fromFile, options.overrides);
  return validateEnvConfig(merged, {
    env: def.name,
    fixHint: options.overrides
      ? `libs/config/src/envs/${def.name}.ts or ${options.overridesSource ?? 'command-line overrides'}`
      : `libs/config/src/envs/${def.name}.ts`,
  });
}

/** Validates a whole config object (already merged). Throws {@link ConfigError}. */
export function validateEnvConfig(input: unknown, where: { env: string; fixHint: string }): EnvConfig {
  const result = envConfigSchema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError('CONFIG_INVALID', result.error.issues.map((i) => formatIssue(i, where)));
}

export function loadAllEnvConfigs(): EnvConfig[] {
  return ENV_NAMES.map((n) => loadEnvConfig(n));
}

function formatIssue(issue: z.core.$ZodIssue, where: { env: string; fixHint: string }): string {
  const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
  let what = issue.message;
  if (issue.code === 'unrecognized_keys') {
    what = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (typo?)`;
  } else if ('input' in issue && issue.input !== undefined && issue.code !== 'custom') {
    what = `${what} (got ${preview(issue.input)})`;
  }
  return `config error: env "${where.env}" at ${path}: ${what}; fix ${where.fixHint}`;
}

function preview(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
