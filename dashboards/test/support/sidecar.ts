/**
 * The real metrics sidecar (apps/metrics-sidecar, built) as a process, exactly as the pod runs
 * it — configured by env vars only — proxying to `upstream`; resolves once `/readyz` says ready.
 */
import { SIDECAR_PATHS } from '@bitpin/metrics-contract';
import { startProcess, waitFor, type Proc } from '@bitpin/test-support';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { resolve } from 'node:path';

export const SIDECAR_MAIN = resolve(import.meta.dirname, '../../../apps/metrics-sidecar/dist/main.js');

/** The HTTP status of a GET (rejects when nothing answers). */
export function statusOf(url: string): Promise<number> {
  return new Promise((resolveReq, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolveReq(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
  });
}

export async function startSidecar(opts: { upstream: string; proxyPort: number; metricsPort: number; env?: Readonly<Record<string, string>> }): Promise<Proc> {
  if (!existsSync(SIDECAR_MAIN)) throw new Error(`${SIDECAR_MAIN} is missing: build the sidecar first (npx nx run metrics-sidecar:build)`);
  const sidecar = startProcess(process.execPath, [SIDECAR_MAIN], {
    name: 'metrics-sidecar',
    cleanEnv: true,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      SIDECAR_MODE: 'proxy',
      SIDECAR_LISTEN_HOST: '127.0.0.1',
      SIDECAR_LISTEN_PORT: String(opts.proxyPort),
      SIDECAR_METRICS_PORT: String(opts.metricsPort),
      SIDECAR_UPSTREAM_URL: opts.upstream,
      SIDECAR_HEALTH_PATH: '/healthz/',
      SIDECAR_PROBE_INTERVAL_SECONDS: '1',
      SIDECAR_LOG_LEVEL: 'warn',
      ...opts.env,
    },
  });
  await waitFor('the sidecar to be ready', async () => {
    if (sidecar.child.exitCode !== null) throw new Error(`the sidecar exited ${sidecar.child.exitCode}: ${sidecar.output()}`);
    return (await statusOf(`http://127.0.0.1:${opts.metricsPort}${SIDECAR_PATHS.ready}`)) === 200 ? true : undefined;
  });
  return sidecar;
}
