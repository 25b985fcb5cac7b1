import type { EnvConfigInput } from './schema.js';

/** Deeply optional: an env states only what differs from the seed defaults. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export type EnvOverrides = DeepPartial<Omit<EnvConfigInput, 'name' | 'description' | 'kube'>> & {
  readonly name: string;
  readonly description: string;
  readonly kube: EnvConfigInput['kube'];
};

/** An env as declared in `envs/<name>.ts`. Validated when loaded, so one broken env cannot hide the others. */
export interface EnvDefinition {
  readonly name: string;
  readonly overrides: EnvOverrides;
}

export function defineEnv(overrides: EnvOverrides): EnvDefinition {
  return { name: overrides.name, overrides };
}

/** Objects merge key by key; arrays and scalars replace; `undefined` leaves the base value. */
export function deepMerge<T>(base: T, override: unknown): T {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    out[k] = deepMerge((base as Record<string, unknown>)[k], v);
  }
  return out as T;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
