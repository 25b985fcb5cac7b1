/**
 * Real binaries and process handling for the monitoring tests. Everything listens on 127.0.0.1,
 * every wait is bounded, and every process a test starts is stopped in its afterAll.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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

export function requireDebian(): Release {
  for (const bin of Object.values(DEBIAN).slice(1)) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run tools/scripts/install-system.sh`);
  }
  return DEBIAN;
}

/** Runs a tool to completion (bounded); returns status and combined output. */
export function run(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { status: number | null; output: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** A long-running process with its output kept (last 64 KiB) for failure messages. */
export interface Proc {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function start(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (e) => keep(Buffer.from(`spawn error: ${e.message}\n`)));
  return {
    child,
    output: () => out,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(kill);
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** Polls `fn` until it returns a value other than undefined; fails after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
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
