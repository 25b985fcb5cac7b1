/**
 * The built program as the container runs it (`node dist/main.js`, env vars only): exit codes,
 * signals and the drain. The Nx `test` target depends on `build`, so dist/ is current.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, requireServer, runTool, waitFor } from '@bitpin/test-support';
import { METRICS } from '@bitpin/metrics-contract';
import { tempFile, removeTempFiles } from './support/files.js';
import { sample } from './support/exposition.js';
import { request, type Reply } from './support/net.js';
import { SMALL_BODY, startUpstream, type Upstream } from './support/upstream.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

interface Running {
  readonly child: ChildProcess;
  readonly proxyPort: number;
  readonly proxyUrl: string;
  readonly metricsUrl: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  stdout: string;
  stderr: string;
}

function run(env: Record<string, string>): Running {
  // Only what the test gives, plus PATH: no SIDECAR_* leaking in from the developer's shell.
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Running = {
    child,
    proxyPort: Number(env['SIDECAR_LISTEN_PORT']),
    proxyUrl: `http://127.0.0.1:${env['SIDECAR_LISTEN_PORT']}`,
    metricsUrl: `http://127.0.0.1:${env['SIDECAR_METRICS_PORT']}`,
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }))),
    stdout: '',
    stderr: '',
  };
  child.stdout?.on('data', (c: Buffer) => (r.stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (r.stderr += c.toString()));
  return r;
}

/** `connected`, or the error code of a plain TCP connect to 127.0.0.1:port. */
function tcpConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

let upstream: Upstream;
let running: Running | undefined;

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx nx run metrics-sidecar:build\` first`);
});

beforeEach(async () => {
  upstream = await startUpstream();
});

afterEach(async () => {
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
  await upstream.close();
});

async function startReady(extra: Record<string, string> = {}): Promise<Running> {
  const env = {
    SIDECAR_LISTEN_HOST: '127.0.0.1',
    SIDECAR_LISTEN_PORT: String(await freePort()),
    SIDECAR_METRICS_PORT: String(await freePort()),
    SIDECAR_UPSTREAM_URL: upstream.url,
    ...extra,
  };
  const r = run(env);
  running = r;
  await waitFor('readiness', async () => {
    try {
      return (await request(`${r.metricsUrl}/readyz`)).status === 200;
    } catch {
      return false;
    }
  });
  return r;
}

describe('dist/main.js', () => {
  it('fails with exit code 2 and one line per bad value', async () => {
    const r = run({ SIDECAR_LISTEN_PORT: 'abc', SIDECAR_MODE: 'sideways', SIDECAR_UPSTREAM_URL: 'ftp://x', SIDECAR_PROBE_INTERVAL: '5', DB_PASSWORD: 'hunter2', DB_HOST: 'db' });
    running = r;
    const { code } = await r.exited;
    expect(code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^metrics-sidecar: config: SIDECAR_PROBE_INTERVAL: not a known variable/),
      'metrics-sidecar: config: SIDECAR_MODE="sideways": must be one of proxy, observe',
      'metrics-sidecar: config: SIDECAR_LISTEN_PORT="abc": must be an integer from 1 to 65535',
      'metrics-sidecar: config: SIDECAR_UPSTREAM_URL="ftp://x": must be an http:// URL with host and port only, e.g. http://127.0.0.1:8000',
      'metrics-sidecar: config: DB_NAME: required when DB_HOST is set',
      'metrics-sidecar: config: DB_USER: required when DB_HOST is set',
    ]);
    expect(r.stderr).not.toContain('hunter2');
  });

  it('on SIGTERM stops accepting, completes every request in flight, then exits 0', { timeout: 30_000 }, async () => {
    // GIVEN 10 requests in flight to an app that answers after 1 s
    const r = await startReady();
    const agent = new http.Agent({ keepAlive: true });
    const replies: Promise<Reply & { at: number }>[] = [];
    for (let i = 0; i < 10; i++) {
      replies.push(request(`${r.proxyUrl}/slow/1000/${i}`, { agent }).then((x) => ({ ...x, at: Date.now() })));
    }
    await waitFor('10 requests at the app', () => upstream.requests === 10);

    // WHEN the sidecar gets SIGTERM
    r.child.kill('SIGTERM');

    // THEN the proxy port refuses new connections while the old requests are still running
    // (probed with bare TCP connects, so no probe is itself a request)
    await waitFor('the proxy port to close', async () => (await tcpConnect(r.proxyPort)) === 'ECONNREFUSED');
    expect(upstream.requests).toBe(10);
    expect(await Promise.race([Promise.all(replies).then(() => 'done'), new Promise((res) => setTimeout(() => res('pending'), 0))])).toBe('pending');
    // and every request in flight completes with the app's answer, before the process exits 0
    const done = await Promise.all(replies);
    for (const x of done) expect([x.status, x.body.toString()]).toEqual([200, SMALL_BODY]);
    const exit = await r.exited;
    expect(exit.code).toBe(0);
    expect(exit.at).toBeGreaterThanOrEqual(Math.max(...done.map((x) => x.at)));
    agent.destroy();
    const logs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: string; signal?: string });
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['stopping', 'draining proxy', 'proxy drained', 'stopped']));
    expect(logs.find((l) => l.msg === 'stopping')?.signal).toBe('SIGTERM');
  });

  it('closes what is left at the drain deadline and still exits 0', { timeout: 30_000 }, async () => {
    const r = await startReady({ SIDECAR_DRAIN_TIMEOUT_SECONDS: '1' });
    const stuck = request(`${r.proxyUrl}/hang`).then(
      () => 'answered',
      (e: NodeJS.ErrnoException) => e.code,
    );
    await waitFor('the request at the app', () => upstream.requests === 1);
    const t0 = Date.now();
    r.child.kill('SIGTERM');
    const exit = await r.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - t0).toBeGreaterThanOrEqual(900);
    expect(await stuck).toBe('ECONNRESET');
    expect(r.stdout).toContain('"abandoned":1');
  });

  it('logs upstream failures as JSON with the request id', { timeout: 30_000 }, async () => {
    const r = await startReady({ SIDECAR_UPSTREAM_TIMEOUT_MS: '200' });
    expect((await request(`${r.proxyUrl}/hang`, { headers: { 'x-request-id': 'trace-me-42' } })).status).toBe(504);
    await waitFor('the log line', () => r.stdout.includes('upstream failure'));
    const line = r.stdout.split('\n').find((l) => l.includes('upstream failure')) as string;
    expect(JSON.parse(line)).toMatchObject({ level: 'warn', service: 'metrics-sidecar', reqId: 'trace-me-42', kind: 'timeout', url: '/hang' });
    const metrics = await request(`${r.metricsUrl}/metrics`);
    // The real process also exports the default process metrics, in the same registry.
    expect(metrics.body.toString()).toContain('process_resident_memory_bytes');
    expect(metrics.body.toString()).toContain('sidecar_upstream_failures_total{kind="timeout"} 1');
  });
});

describe('dist/main.js: scrapes during a drain', () => {
  it('keeps /metrics, /healthz and /readyz answering while draining, and a last scrape sees every drained request', { timeout: 30_000 }, async () => {
    // GIVEN 3 requests in flight to an app answering after 1.5 s, and a sidecar waiting for a last scrape
    const r = await startReady({ SIDECAR_DRAIN_LAST_SCRAPE_SECONDS: '10' });
    const replies = [0, 1, 2].map((i) => request(`${r.proxyUrl}/slow/1500/${i}`));
    await waitFor('3 requests at the app', () => upstream.requests === 3);
    // WHEN the sidecar gets SIGTERM
    r.child.kill('SIGTERM');
    await waitFor('the proxy port to close', async () => (await tcpConnect(r.proxyPort)) === 'ECONNREFUSED');
    // THEN during the drain: readiness says draining (503, documented body), liveness and scrapes answer
    const ready = await request(`${r.metricsUrl}/readyz`);
    expect([ready.status, JSON.parse(ready.body.toString())]).toEqual([503, { status: 'draining' }]);
    const live = await request(`${r.metricsUrl}/healthz`);
    expect([live.status, JSON.parse(live.body.toString())]).toEqual([200, { status: 'ok' }]);
    const during = await request(`${r.metricsUrl}/metrics`);
    expect(during.status).toBe(200);
    expect(sample(during.body.toString(), METRICS.httpActiveRequests.name)).toBe(3);
    // and once the drained requests are done, a scrape shows all three before the process exits 0
    for (const x of await Promise.all(replies)) expect(x.status).toBe(200);
    expect(r.child.exitCode).toBeNull();
    const last = await request(`${r.metricsUrl}/metrics`);
    expect(last.status).toBe(200);
    expect(sample(last.body.toString(), METRICS.httpRequests.name, { method: 'GET', route: '/slow/:id/:id', status_code: '200' })).toBe(3);
    expect(sample(last.body.toString(), METRICS.httpActiveRequests.name)).toBe(0);
    const exit = await r.exited;
    expect(exit.code).toBe(0);
    expect(r.stdout).toContain('"msg":"last scrape served"');
  });
});

const PROMTOOL = ['/usr/bin/promtool', `${process.env['HOME'] ?? '/root'}/.cache/bitpin/prometheus/3.5.0_0.28.1/bin/promtool`].find((p) => existsSync(p));
const withPromtool = requireServer('promtool', PROMTOOL !== undefined, 'run tools/scripts/install-system.sh (Debian prometheus) or npx nx run monitoring:build-prometheus');

withPromtool('dist/main.js: exposition lint', () => {
  afterAll(removeTempFiles);

  it('passes `promtool check metrics` on a full scrape (process metrics, every series kind, gzip too)', { timeout: 30_000 }, async () => {
    // GIVEN the real process after traffic of every kind: answers, an upstream failure, a rejection
    const r = await startReady({ SIDECAR_UPSTREAM_TIMEOUT_MS: '200' });
    for (let i = 0; i < 5; i++) await request(`${r.proxyUrl}/api/users/${i}/`);
    await request(`${r.proxyUrl}/status/503/x`);
    await request(`${r.proxyUrl}/hang`);
    await request(`${r.proxyUrl}/x`, { method: 'TRACE' });
    // WHEN it is scraped and the text given to promtool
    const text = (await request(`${r.metricsUrl}/metrics`)).body.toString();
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).not.toMatch(/^nodejs_active_handles_total/m);
    const file = tempFile('scrape.prom', text);
    const out = runTool('sh', ['-c', `"$0" check metrics < "$1"`, PROMTOOL as string, file]);
    // THEN it is clean
    expect(out.output).toBe('');
    expect(out.status).toBe(0);
  });
});
