/**
 * Requests in flight at once (`--concurrency`). 16, not 8: a first apply of env local took a
 * median 457 vs 565 ms (6 alternating rounds each, quiet control plane; 32: 517 ms) — a wave's
 * writes are in flight before the controllers start on its first objects (docs/benchmarks.md).
 */
export const DEFAULT_CONCURRENCY = 16;

/**
 * Runs `fn` over `items` with at most `limit` in flight; results keep the input order. After the
 * first failure no further item is started (the ones in flight finish), and that failure is
 * thrown: a command that has failed must not keep sending requests — `diff` once went on dry-running
 * the rest of the set for ~90 s after a conflict, while the CLI was already closing its connection.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const first = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (first) throw first.reason;
  return results;
}
