import { createServer, type AddressInfo } from 'node:net';

/** A TCP port nothing listens on right now: bound on 127.0.0.1 with port 0, then released. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** `n` distinct free ports (each bound and released in turn, duplicates drawn again). */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  return ports;
}

/**
 * Polls `check` until it returns something other than `undefined` or `false`, and resolves with
 * that value. For the first second it polls every 20 ms, so short waits stay short (a test can
 * still see a request in flight); after that every `everyMs`. A `check` that throws counts as "not yet"; its last error is in the timeout
 * message, which names `what`: `timed out after 30000 ms waiting for <what> (last error: …)`.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 250,
): Promise<T> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}`);
    }
    const delay = Date.now() - started < 1_000 ? Math.min(20, everyMs) : everyMs;
    await new Promise((r) => setTimeout(r, delay));
  }
}
