/**
 * Real binaries for the monitoring tests (process handling, ports and waiting come from
 * @bitpin/test-support). Everything listens on 127.0.0.1, every wait is bounded, and every process
 * a test starts is stopped in its afterAll.
 */
import { requireServers, type ServerSuite } from '@bitpin/test-support';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** One Prometheus/Alertmanager release: its binaries and a human name for test titles. */
export interface Release {
  readonly name: string;
  readonly prometheus: string;
  readonly promtool: string;
  readonly alertmanager: string;
  readonly amtool: string;
}

/** Debian bookworm's packages (tools/scripts/install-system.sh): built without Kubernetes discovery. */
export const DEBIAN: Release = {
  name: 'Debian prometheus 2.42 / alertmanager 0.25',
  prometheus: '/usr/bin/prometheus',
  promtool: '/usr/bin/promtool',
  alertmanager: '/usr/bin/prometheus-alertmanager',
  amtool: '/usr/bin/amtool',
};

/** The deployed versions, built from their Go modules by scripts/build-prometheus.sh (global setup). */
export function upstream(): Release {
  const r = spawnSync('bash', [join(LIB, 'scripts/build-prometheus.sh'), '--print-bin-dir'], { encoding: 'utf8' });
  const dir = r.stdout.trim();
  const release: Release = {
    name: 'upstream prometheus 3.5.0 / alertmanager 0.28.1 (the deployed images)',
    prometheus: join(dir, 'prometheus'),
    promtool: join(dir, 'promtool'),
    alertmanager: join(dir, 'alertmanager'),
    amtool: join(dir, 'amtool'),
  };
  for (const bin of Object.values(release).slice(1)) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run libs/monitoring/scripts/build-prometheus.sh`);
  }
  return release;
}

/**
 * The suites that run Debian's binaries: under CI a missing one fails them with one line naming it,
 * on a developer machine they are skipped (the deployed release is built by the global setup).
 */
export const describeWithDebian: ServerSuite = requireServers(
  Object.values(DEBIAN)
    .slice(1)
    .map((bin) => ({ name: `Debian's ${bin.split('/').pop()} (${bin})`, available: existsSync(bin), installHint: 'run tools/scripts/install-system.sh' })),
);

export function requireDebian(): Release {
  for (const bin of Object.values(DEBIAN).slice(1)) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run tools/scripts/install-system.sh`);
  }
  return DEBIAN;
}

export async function getJson<T = any>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** A node:http server on 127.0.0.1 that records request bodies and answers with `reply`. */
export interface Recorder {
  readonly port: number;
  readonly requests: { path: string; body: string }[];
  close(): Promise<void>;
}

export async function recorder(reply: (req: IncomingMessage) => { status?: number; type?: string; body: string }): Promise<Recorder> {
  const requests: { path: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      const r = reply(req);
      res.writeHead(r.status ?? 200, { 'content-type': r.type ?? 'text/plain' });
      res.end(r.body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
