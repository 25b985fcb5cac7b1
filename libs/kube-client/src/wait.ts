import type { Condition, KubeObject } from './types.js';

export interface WaitForOptions {
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** @default 250 */
  readonly intervalMs?: number;
}

/**
 * Polls `check` until it returns a value other than `undefined`/`false`, or throws after
 * `timeoutMs` naming what it waited for (and the last error `check` threw, if any).
 */
export async function waitFor<T>(
  description: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 250 }: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The condition of this type in `status.conditions`, if any. */
export function conditionOf(obj: Pick<KubeObject, 'status'> | undefined, type: string): Condition | undefined {
  const conditions = obj?.status?.conditions as readonly Condition[] | undefined;
  return conditions?.find((c) => c.type === type);
}

/** `status.conditions[type].status === status` (default `'True'`). */
export function hasCondition(obj: Pick<KubeObject, 'status'> | undefined, type: string, status = 'True'): boolean {
  return conditionOf(obj, type)?.status === status;
}
