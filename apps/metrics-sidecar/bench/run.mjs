// `nx run metrics-sidecar:bench`: the sidecar against nginx and fastify + @fastify/reply-from on
// loopback, in one run. Layout (2 cores): the upstream (nginx, `return 200` with a 1,038-byte
// JSON body) and wrk share core 0; the proxy under test runs alone on core 1, one process each.
// Configs are interleaved over several rounds and the median is reported. Results and the
// command go to the `## metrics-sidecar` section of docs/benchmarks.md (other sections untouched).
//
// Env: BENCH_SECONDS (8), BENCH_ROUNDS (5), BENCH_WARMUP_SECONDS (3), BENCH_PACED_SECONDS (10),
// BENCH_CONNECTIONS (32), BENCH_NO_WRITE=1 to only print, BENCH_RENDER=<json> to re-render saved results,
// BENCH_PREVIOUS=<json>[,<json>…]: earlier runs' saved results, rendered (every round) below this run's.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The built test support (the bench target builds it: it is a dependency of this project).
import { freePort } from '@bitpin/test-support';

const HERE = dirname(fileURLToPath(import.meta.url));
const PROJECT = join(HERE, '..');
const ROOT = join(PROJECT, '..', '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const PACED = Number(process.env.BENCH_PACED_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PATH = '/api/users/42/';
const FLOOR = 'floor: node:http + undici, no metrics';
const FLOOR_CLIENT = "floor: node:http + the sidecar's client, no metrics";
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
// The sidecar runs with the Node options its container image sets, read from the Dockerfile.
const SIDECAR_NODE_OPTIONS = (() => {
  const m = /^\s*NODE_OPTIONS="([^"]*)"/m.exec(readFileSync(join(PROJECT, 'Dockerfile'), 'utf8'));
  if (!m) throw new Error('NODE_OPTIONS not found in apps/metrics-sidecar/Dockerfile');
  return m[1];
})();

// A fixed 1,038-byte JSON body, as in proxy-baseline.md.
const BODY = (() => {
  const base = { id: 42, username: 'trader42', markets: ['BTC-USDT', 'ETH-USDT', 'USDT-IRT'], balance: '1234.5678', padding: '' };
  base.padding = 'x'.repeat(1038 - JSON.stringify(base).length);
  return JSON.stringify(base);
})();
if (Buffer.byteLength(BODY) !== 1038) throw new Error('body size');

const work = mkdtempSync(join(os.tmpdir(), 'sidecar-bench-'));
const children = new Set();

function log(...a) {
  process.stderr.write(`[bench] ${a.join(' ')}\n`);
}

function start(name, core, cmd, args, env = {}) {
  const child = spawn('taskset', ['-c', String(core), cmd, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c) => (err += c.toString()));
  child.on('exit', (code) => {
    children.delete(child);
    if (code && code !== 0 && !child.stopping) log(`${name} exited ${code}: ${err.trim().slice(0, 500)}`);
  });
  children.add(child);
  child.label = name;
  return child;
}

async function stop(child) {
  if (!child || child.exitCode !== null) return;
  child.stopping = true;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

async function cleanup() {
  await Promise.all([...children].map(stop));
  rmSync(work, { recursive: true, force: true });
}
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));

function get(url, { method = 'GET' } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitHttp(url) {
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      const r = await get(url);
      if (r.status === 200) return;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- /proc accounting -------------------------------------------------------------------------

function pidsOf(child) {
  // nginx: master + workers; node: one process (its threads are in its stat).
  const pid = child.pid;
  const kids = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const c = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (c) kids.push(...c.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return [pid, ...kids];
}

function cpuTicks(pids) {
  let t = 0;
  for (const pid of pids) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      t += Number(f[11]) + Number(f[12]); // utime + stime
    } catch {
      // gone
    }
  }
  return t;
}

function memKb(pids, field) {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb;
}

function machineTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + v[4];
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

// ---- load generation --------------------------------------------------------------------------

const LUA_DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50":%d,"p90":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
`;
const LUA_PACED = `
math.randomseed(os.time())
delay = function() return math.random(0, 20) end
${LUA_DONE}`;
writeFileSync(join(work, 'done.lua'), LUA_DONE);
writeFileSync(join(work, 'paced.lua'), LUA_PACED);

async function wrk(url, { seconds, connections = CONNECTIONS, script = 'done.lua' }) {
  const child = spawn('taskset', ['-c', '0', 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', join(work, script), url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c.toString()));
  child.stderr.on('data', (c) => (out += c.toString()));
  // wrk's own CPU: its /proc entry is gone after exit, so keep the last 250 ms sample.
  let wrkTicks = 0;
  const sampler = setInterval(() => {
    const t = cpuTicks([child.pid]);
    if (t > 0) wrkTicks = t;
  }, 250);
  const code = await new Promise((r) => child.on('exit', r));
  clearInterval(sampler);
  const m = /RESULT (\{.*\})/.exec(out);
  if (code !== 0 || !m) throw new Error(`wrk failed (${code}): ${out}`);
  return { ...JSON.parse(m[1]), wrkTicks };
}

/** One measured run: wrk against `url`, CPU and memory of the proxy, upstream, and the rest of the machine. */
async function measure(cfg, { seconds, paced = false }) {
  const proxyPids = cfg.proc ? pidsOf(cfg.proc) : [];
  const upPids = pidsOf(upstreamProc);
  const m0 = machineTicks();
  const p0 = cpuTicks(proxyPids);
  const u0 = cpuTicks(upPids);
  const t0 = process.hrtime.bigint();
  const load = os.loadavg()[0];
  let rssMax = 0;
  const sampler = setInterval(() => {
    if (cfg.proc) rssMax = Math.max(rssMax, memKb(proxyPids, 'VmRSS') / 1024);
  }, 500);
  const r = await wrk(cfg.url + PATH, paced ? { seconds, connections: 10, script: 'paced.lua' } : { seconds }).finally(() => clearInterval(sampler));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const m1 = machineTicks();
  const proxyTicks = cpuTicks(proxyPids) - p0;
  const upTicks = cpuTicks(upPids) - u0;
  // Foreign load: whatever the machine was busy with besides this run's proxy, upstream and wrk.
  const busy = m1.busy - m0.busy;
  const foreign = Math.max(0, busy - proxyTicks - upTicks - r.wrkTicks);
  const rps = r.requests / (r.duration_us / 1e6);
  return {
    name: cfg.name,
    rps,
    requests: r.requests,
    errors: r.errors,
    non2xx: r.non2xx,
    p50: r.p50,
    p90: r.p90,
    p99: r.p99,
    proxyCpuPct: cfg.proc ? (proxyTicks / CLK_TCK / wall) * 100 : 0,
    cpuUsPerReq: cfg.proc ? ((proxyTicks / CLK_TCK) * 1e6) / r.requests : 0,
    upstreamCpuPct: (upTicks / CLK_TCK / wall) * 100,
    machineBusyPct: (busy / CLK_TCK / wall) * 100,
    foreignPct: (foreign / CLK_TCK / wall) * 100,
    wrkCpuPct: (r.wrkTicks / CLK_TCK / wall) * 100,
    rssMb: cfg.proc ? Math.max(rssMax, memKb(proxyPids, 'VmRSS') / 1024) : 0,
    hwmMb: cfg.proc ? memKb(proxyPids, 'VmHWM') / 1024 : 0,
    load1: load,
  };
}

// ---- the processes ----------------------------------------------------------------------------

function nginxConf(name, port, body) {
  const dir = join(work, name);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const conf = `
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ${body(port)}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  if (process.getuid?.() === 0) spawnSync('chmod', ['-R', 'a+rwX', dir]);
  return { dir, conf: join(dir, 'nginx.conf') };
}

let upstreamProc;

async function main() {
  for (const tool of ['wrk', 'taskset', NGINX]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: run tools/scripts/install-system.sh`);
  }
  if (os.cpus().length < 2) throw new Error('needs 2 cores (core 0: wrk + upstream, core 1: the proxy)');
  const main = join(PROJECT, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error('dist/main.js missing: nx run metrics-sidecar:build');

  const ports = { up: await freePort(), nginx: await freePort(), peer: await freePort(), floor: await freePort(), floorClient: await freePort(), sidecar: await freePort(), sidecarMetrics: await freePort() };
  const up = nginxConf('upstream', ports.up, (p) => `
  server {
    listen 127.0.0.1:${p} backlog=4096;
    default_type application/json;
    location / {
      if ($arg_s = "404") { return 404 '{"error":"not found"}'; }
      return 200 '${BODY}';
    }
  }`);
  const px = nginxConf('proxy', ports.nginx, (p) => `
  upstream app { server 127.0.0.1:${ports.up}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${p} backlog=4096;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-ID $request_id;
    }
  }`);
  const upstreamUrl = `http://127.0.0.1:${ports.up}`;
  upstreamProc = start('upstream nginx', 0, NGINX, ['-p', up.dir, '-c', up.conf, '-e', join(up.dir, 'logs', 'error.log')]);
  const nginxProc = start('nginx proxy', 1, NGINX, ['-p', px.dir, '-c', px.conf, '-e', join(px.dir, 'logs', 'error.log')]);
  const peerProc = start('fastify+reply-from', 1, process.execPath, [join(HERE, 'peer-reply-from.mjs')], {
    PEER_PORT: String(ports.peer),
    PEER_UPSTREAM: upstreamUrl,
    NODE_OPTIONS: SIDECAR_NODE_OPTIONS,
  });
  const floorProc = start('floor', 1, process.execPath, [join(HERE, 'floor-proxy.mjs')], {
    FLOOR_PORT: String(ports.floor),
    FLOOR_UPSTREAM: upstreamUrl,
    NODE_OPTIONS: SIDECAR_NODE_OPTIONS,
  });
  const floorClientProc = start('floor (sidecar client)', 1, process.execPath, [join(HERE, 'floor-client.mjs')], {
    FLOOR_PORT: String(ports.floorClient),
    FLOOR_UPSTREAM: upstreamUrl,
    NODE_OPTIONS: SIDECAR_NODE_OPTIONS,
  });
  const sidecarEnv = {
    SIDECAR_LISTEN_HOST: '127.0.0.1',
    SIDECAR_LISTEN_PORT: String(ports.sidecar),
    SIDECAR_METRICS_PORT: String(ports.sidecarMetrics),
    SIDECAR_UPSTREAM_URL: upstreamUrl,
    SIDECAR_LOG_LEVEL: 'warn',
    NODE_OPTIONS: SIDECAR_NODE_OPTIONS,
  };
  for (const k of Object.keys(process.env)) if (k.startsWith('SIDECAR_') || k.startsWith('DB_')) delete process.env[k];
  const sidecarProc = start('sidecar', 1, process.execPath, [main], sidecarEnv);

  const configs = [
    { name: 'direct', url: upstreamUrl, proc: undefined },
    { name: 'nginx', url: `http://127.0.0.1:${ports.nginx}`, proc: nginxProc },
    { name: 'fastify+reply-from', url: `http://127.0.0.1:${ports.peer}`, proc: peerProc },
    { name: FLOOR, url: `http://127.0.0.1:${ports.floor}`, proc: floorProc },
    { name: FLOOR_CLIENT, url: `http://127.0.0.1:${ports.floorClient}`, proc: floorClientProc },
    { name: 'sidecar', url: `http://127.0.0.1:${ports.sidecar}`, proc: sidecarProc },
  ];
  for (const c of configs) await waitHttp(c.url + PATH);
  await waitHttp(`http://127.0.0.1:${ports.sidecarMetrics}/readyz`);

  // Same bytes through every proxy.
  for (const c of configs) {
    const r = await get(c.url + PATH);
    if (r.status !== 200 || r.body !== BODY) throw new Error(`${c.name}: body differs from the upstream's`);
  }
  log(`all configs answer the same ${Buffer.byteLength(BODY)}-byte body; load1=${os.loadavg()[0].toFixed(2)}`);

  const environment = {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    kernel: os.release(),
    node: process.version,
    nginx: spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr.trim().replace('nginx version: ', ''),
    wrk: spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim() ?? 'wrk',
    loadBefore: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };

  // Warm-up (JIT, connection pools), not recorded.
  for (const c of configs) await wrk(c.url + PATH, { seconds: WARMUP });
  const sidecarBefore = await sidecarCount(ports.sidecarMetrics);

  const saturation = Object.fromEntries(configs.map((c) => [c.name, []]));
  let wrkTotalSidecar = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? configs : [...configs].reverse();
    for (const c of order) {
      const r = await measure(c, { seconds: SECONDS });
      if (c.name === 'sidecar') wrkTotalSidecar += r.requests;
      saturation[c.name].push(r);
      log(`round ${round} ${c.name}: ${Math.round(r.rps)} req/s, ${r.cpuUsPerReq.toFixed(1)} µs/req, p50 ${r.p50} µs, errors ${r.errors}, non2xx ${r.non2xx}, foreign CPU ${r.foreignPct.toFixed(0)}%`);
    }
  }
  const sidecarAfter = await sidecarCount(ports.sidecarMetrics);

  const paced = {};
  for (const c of configs) {
    paced[c.name] = await measure(c, { seconds: PACED, paced: true });
    log(`paced ${c.name}: ${Math.round(paced[c.name].rps)} req/s, p50 ${paced[c.name].p50} µs, p99 ${paced[c.name].p99} µs`);
  }

  for (const c of configs.slice(1)) await stop(c.proc);
  const profile = await profileSidecar(upstreamUrl, main);
  const scrape = await metricsAtCap(upstreamUrl, main);
  await stop(upstreamProc);

  const result = { environment, saturation, paced, scrape, profile, sidecarCounted: sidecarAfter - sidecarBefore, wrkTotalSidecar, loadAfter: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
  const raw = join(os.tmpdir(), 'metrics-sidecar-bench.json');
  writeFileSync(raw, JSON.stringify(result, null, 1));
  log(`raw results: ${raw} (BENCH_RENDER=${raw} re-renders them without running)`);
  publish(result);
}

function publish(result) {
  const md = render(result);
  process.stdout.write(`${md}\n`);
  if (!process.env.BENCH_NO_WRITE) writeSection(md);
}

async function sidecarCount(metricsPort) {
  const r = await get(`http://127.0.0.1:${metricsPort}/metrics`);
  let n = 0;
  for (const line of r.body.split('\n')) if (line.startsWith('http_server_requests_total{')) n += Number(line.split(' ').pop());
  return n;
}

/** Where the sidecar's CPU goes: one more sidecar under wrk with V8's `--cpu-prof`, self time by area. */
const PROFILE_SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 10);
const UNDICI_AREA = 'undici (only the probes use it now; llhttp in wasm)';
const NATIVE_IO = new Set(['writev', 'writeLatin1String', 'writeUtf8String', 'writeBuffer', 'writeAsciiString', 'readStart', 'readStop', 'shutdown', 'close']);

function profileArea(cf) {
  const u = cf.url || '';
  const f = cf.functionName;
  if (f === '(idle)') return undefined;
  if (f === '(garbage collector)') return 'GC';
  if (f === '(program)') return 'V8/native, unattributed ((program))';
  if (!u && NATIVE_IO.has(f)) return 'socket writes and reads (syscalls, loopback TCP)';
  if (u.includes('/undici/') || u.startsWith('wasm://')) return UNDICI_AREA;
  if (u.endsWith('/dist/upstream.js')) return 'sidecar upstream client (upstream.js: pool, request, response parser)';
  if (u.endsWith('/dist/proxy.js')) return 'sidecar data plane (proxy.js: headers, exchange)';
  if (u.endsWith('/dist/http-metrics.js') || u.endsWith('/dist/route-templates.js') || u.includes('/prom-client/')) return 'metrics (record, route templates, prom-client)';
  if (u.includes('/pino') || u.endsWith('/dist/logger.js')) return 'logging (pino)';
  if (u.includes('/fastify') || u.includes('/avvio/') || u.includes('/find-my-way/')) return 'fastify (metrics port)';
  if (/^node:(_http_|http$|internal\/http)/.test(u)) return 'node:http (server, parser glue, response)';
  if (u.startsWith('node:')) return 'node streams, net, events, timers, buffers';
  if (!u) return 'native (other)';
  return 'other JS';
}

async function profileSidecar(upstreamUrl, main) {
  const port = await freePort();
  const metricsPort = await freePort();
  const dir = join(work, 'cpu-prof');
  mkdirSync(dir, { recursive: true });
  const proc = start('sidecar (profile)', 1, process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, main], {
    SIDECAR_LISTEN_HOST: '127.0.0.1',
    SIDECAR_LISTEN_PORT: String(port),
    SIDECAR_METRICS_PORT: String(metricsPort),
    SIDECAR_UPSTREAM_URL: upstreamUrl,
    SIDECAR_LOG_LEVEL: 'warn',
    NODE_OPTIONS: SIDECAR_NODE_OPTIONS,
  });
  await waitHttp(`http://127.0.0.1:${port}${PATH}`);
  await wrk(`http://127.0.0.1:${port}${PATH}`, { seconds: WARMUP });
  const t0 = performance.now();
  const m = await measure({ name: 'profile', url: `http://127.0.0.1:${port}`, proc }, { seconds: PROFILE_SECONDS });
  await stop(proc);
  // Only the samples of the measured load (and the stop after it) count: not start-up (module
  // loading and compiling) or the warm-up. The profile ends when the process exits.
  const windowUs = (performance.now() - t0) * 1000;
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return undefined;
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const areas = new Map();
  let busy = 0;
  let t = p.startTime;
  const from = p.endTime - windowUs;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t < from) continue;
    const area = profileArea(byId.get(p.samples[i]).callFrame);
    if (area === undefined) continue;
    const d = p.timeDeltas[i] ?? 0;
    busy += d;
    areas.set(area, (areas.get(area) ?? 0) + d);
  }
  return {
    cpuUsPerReq: m.cpuUsPerReq,
    rps: m.rps,
    load1: m.load1,
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([area, t]) => ({ area, share: t / busy })),
  };
}

/**
 * /metrics latency with the route cap (200) reached, in two states of a fresh sidecar:
 * A: 10,000+ distinct paths (200 templates + overflow, 2 methods); B: A plus every template also
 * with a second method and a 404, i.e. the cap reached with 4 label sets per template.
 */
async function metricsAtCap(upstreamUrl, main) {
  const port = await freePort();
  const metricsPort = await freePort();
  const proc = start('sidecar (cap)', 1, process.execPath, [main], {
    SIDECAR_LISTEN_HOST: '127.0.0.1',
    SIDECAR_LISTEN_PORT: String(port),
    SIDECAR_METRICS_PORT: String(metricsPort),
    SIDECAR_UPSTREAM_URL: upstreamUrl,
    SIDECAR_LOG_LEVEL: 'warn',
    NODE_OPTIONS: SIDECAR_NODE_OPTIONS,
  });
  await waitHttp(`http://127.0.0.1:${metricsPort}/readyz`);
  const url = `http://127.0.0.1:${port}`;
  // Paths are lowercase words (i in base 26 as letters): no collapsing rule merges them, as with
  // real page names. The upstream answers 200 (a 404 would claim no template slot).
  const WORD = `local function word(n)
  local s = ""
  repeat
    s = string.char(97 + n % 26) .. s
    n = math.floor(n / 26)
  until n == 0
  return s
end
`;
  writeFileSync(
    join(work, 'distinct.lua'),
    `${WORD}local i = 0
request = function()
  i = i + 1
  return wrk.format((i % 2 == 0) and "GET" or "POST", "/p/page-" .. word(i))
end
${LUA_DONE}`,
  );
  writeFileSync(
    join(work, 'combos.lua'),
    `${WORD}local i = 0
request = function()
  i = i + 1
  local k = math.floor(i / 7) % 4
  return wrk.format((k % 2 == 0) and "GET" or "POST", "/p/page-" .. word(i % 400) .. ((k < 2) and "" or "?s=404"))
end
${LUA_DONE}`,
  );
  const out = {};
  const pids = pidsOf(proc);
  const fill = await wrk(url + '/', { seconds: 3, connections: 8, script: 'distinct.lua' });
  out.A = await scrapeLatency(metricsPort, fill.requests, pids);
  out.gzipA = await scrapeLatency(metricsPort, fill.requests, pids, true);
  out.floorA = await floorLatency(await get(`http://127.0.0.1:${metricsPort}/metrics`));
  const fill2 = await wrk(url + '/', { seconds: 3, connections: 8, script: 'combos.lua' });
  out.B = await scrapeLatency(metricsPort, fill.requests + fill2.requests, pids);
  out.floorB = await floorLatency(await get(`http://127.0.0.1:${metricsPort}/metrics`));
  out.rssMb = memKb(pids, 'VmRSS') / 1024;
  await stop(proc);
  return out;
}

/**
 * The same scrape loop against a bare node:http server on the sidecar's core that answers a
 * fixed copy of an exposition: what loopback, the client and this machine's load cost for that
 * many bytes with no metrics work at all.
 */
async function floorLatency(exposition) {
  const file = join(work, 'exposition.txt');
  writeFileSync(file, exposition.body);
  const port = await freePort();
  const code = `const b = require('fs').readFileSync(process.env.FLOOR_FILE);
require('http').createServer((q, r) => { r.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': b.length }); r.end(b); })
  .listen(Number(process.env.FLOOR_PORT), '127.0.0.1');`;
  const proc = start('floor', 1, process.execPath, ['-e', code], { FLOOR_FILE: file, FLOOR_PORT: String(port), NODE_OPTIONS: SIDECAR_NODE_OPTIONS });
  await waitHttp(`http://127.0.0.1:${port}/metrics`);
  const r = await scrapeLatency(port, 0, pidsOf(proc));
  await stop(proc);
  return r;
}

async function scrapeLatency(metricsPort, sent, pids, gzip = false) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  let body = '';
  let wire = 0;
  let ticks0 = 0;
  for (let i = 0; i < 220; i++) {
    if (i === 20) ticks0 = cpuTicks(pids);
    const t0 = process.hrtime.bigint();
    body = await new Promise((resolve, reject) => {
      http
        .get(`http://127.0.0.1:${metricsPort}/metrics`, { agent, headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const b = Buffer.concat(chunks);
            wire = b.length;
            resolve((res.headers['content-encoding'] === 'gzip' ? gunzipSync(b) : b).toString());
          });
        })
        .on('error', reject);
    });
    if (i >= 20) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  // The server's CPU per timed scrape (ticks of 1/CLK_TCK s over the 200, all its threads).
  const cpuMsPerScrape = ((cpuTicks(pids) - ticks0) / CLK_TCK / 200) * 1000;
  agent.destroy();
  times.sort((a, b) => a - b);
  const lines = body.split('\n').filter((l) => l && !l.startsWith('#'));
  const reqLines = lines.filter((l) => l.startsWith('http_server_requests_total{'));
  const routes = new Set(reqLines.map((l) => /route="([^"]*)"/.exec(l)?.[1]));
  return {
    sent,
    p50: times[Math.floor(times.length * 0.5)],
    p99: times[Math.floor(times.length * 0.99)],
    max: times[times.length - 1],
    cpuMsPerScrape,
    bytes: Buffer.byteLength(body),
    wireBytes: wire,
    lines: lines.length,
    labelSets: reqLines.length,
    routes: routes.size,
    templates: Number(/^sidecar_route_templates (\d+)/m.exec(body)?.[1]),
  };
}

// ---- report -----------------------------------------------------------------------------------

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, d = 0) => (x === undefined || Number.isNaN(x) ? '–' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));

function floorRow(state, f) {
  if (!f) return `| floor for ${state} | – | – | – | – | – | – | – | – | – |`;
  return `| floor for ${state}: bare node:http, same bytes | – | – | – | ${fmt(f.lines)} | ${fmt(f.bytes / 1024)} KB | ${fmt(f.p50, 2)} | ${fmt(f.p99, 2)} | ${fmt(f.max, 2)} | ${fmt(f.cpuMsPerScrape, 2)} |`;
}

/** Every round of an earlier run (BENCH_PREVIOUS), with its medians, for the same section. */
function renderPrevious(file) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const names = Object.keys(r.saturation);
  const rounds = r.saturation.nginx.length;
  const lines = [];
  for (let i = 0; i < rounds; i++) {
    for (const name of names) {
      const x = r.saturation[name][i];
      if (!x || name === 'direct') continue;
      lines.push(`| ${i + 1} | ${name} | ${fmt(x.rps)} | ${fmt(x.cpuUsPerReq, 1)} | ${fmt(x.cpuUsPerReq / r.saturation.nginx[i].cpuUsPerReq, 2)} | ${fmt(x.p50)} | ${fmt(x.foreignPct)} | ${fmt(x.load1, 2)} |`);
    }
  }
  const med = (name) => median(r.saturation[name].map((x) => x.cpuUsPerReq));
  const n = med('nginx');
  const summary = names
    .filter((name) => name !== 'direct' && name !== 'nginx')
    .map((name) => `${name} ${fmt(med(name), 1)} µs = **${fmt(med(name) / n, 2)} ×**`)
    .join('; ');
  const P = r.paced;
  return `#### Run of ${r.environment.date} (load average before: ${r.environment.loadBefore}; after: ${r.loadAfter})

Medians of CPU µs per request: nginx ${fmt(n, 1)} µs; ${summary}. Added p50 at ~1,000 req/s: sidecar +${fmt((P.sidecar.p50 - P.direct.p50) / 1000, 3)} ms
(direct ${fmt(P.direct.p50)} µs → sidecar ${fmt(P.sidecar.p50)} µs), nginx +${fmt((P.nginx.p50 - P.direct.p50) / 1000, 3)} ms.

| round | config | req/s | CPU µs / req | × nginx | p50 µs | foreign CPU % | load1 |
|---|---|---|---|---|---|---|---|
${lines.join('\n')}
`;
}

function render(r) {
  const S = {};
  for (const [name, runs] of Object.entries(r.saturation)) {
    S[name] = {
      rps: median(runs.map((x) => x.rps)),
      rpsMin: Math.min(...runs.map((x) => x.rps)),
      rpsMax: Math.max(...runs.map((x) => x.rps)),
      cpu: median(runs.map((x) => x.cpuUsPerReq)),
      cpuMin: Math.min(...runs.map((x) => x.cpuUsPerReq)),
      cpuMax: Math.max(...runs.map((x) => x.cpuUsPerReq)),
      pct: median(runs.map((x) => x.proxyCpuPct)),
      p50: median(runs.map((x) => x.p50)),
      p99: median(runs.map((x) => x.p99)),
      rss: Math.max(...runs.map((x) => x.rssMb)),
      hwm: Math.max(...runs.map((x) => x.hwmMb)),
      busy: median(runs.map((x) => x.machineBusyPct)),
      foreign: median(runs.map((x) => x.foreignPct)),
      foreignMax: Math.max(...runs.map((x) => x.foreignPct)),
      up: median(runs.map((x) => x.upstreamCpuPct)),
      errors: runs.reduce((a, x) => a + x.errors + x.non2xx, 0),
      load: median(runs.map((x) => x.load1)),
    };
  }
  const n = S.nginx;
  const sc = S.sidecar;
  const rf = S['fastify+reply-from'];
  const perCore = (s) => (s.cpu > 0 ? 1e6 / s.cpu : NaN);
  const rows = Object.entries(S).map(
    ([name, s]) =>
      `| ${name} | ${fmt(s.rps)} [${fmt(s.rpsMin)}–${fmt(s.rpsMax)}] | ${name === 'direct' ? '–' : fmt(s.pct)} | ${name === 'direct' ? '–' : `${fmt(s.cpu, 1)} [${fmt(s.cpuMin, 1)}–${fmt(s.cpuMax, 1)}]`} | ${name === 'direct' ? '–' : fmt(perCore(s))} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${name === 'direct' ? '–' : `${fmt(s.rss, 1)} / ${fmt(s.hwm, 1)}`} | ${fmt(s.up)} | ${fmt(s.foreign)} [max ${fmt(s.foreignMax)}] | ${s.errors} |`,
  );
  const P = r.paced;
  const pacedRows = Object.entries(P).map(
    ([name, p]) =>
      `| ${name} | ${fmt(p.rps)} | ${fmt(p.p50)} | ${name === 'direct' ? '–' : `+${fmt(p.p50 - P.direct.p50)}`} | ${fmt(p.p99)} | ${name === 'direct' ? '–' : fmt(p.proxyCpuPct, 1)} | ${name === 'direct' ? '–' : fmt(p.rssMb, 1)} | ${fmt(p.foreignPct)} |`,
  );
  const cpuRatio = sc.cpu / n.cpu;
  const thrRatio = sc.rps / rf.rps;
  // Foreign load only ever adds CPU per request (cache misses, preemption), so the lowest of the
  // rounds is the best estimate of a config's own cost; both are shown.
  const cpuRatioBest = sc.cpuMin / n.cpuMin;
  const rfRatioBest = rf.cpuMin / sc.cpuMin;
  const addedP50 = (P.sidecar.p50 - P.direct.p50) / 1000;
  const A = r.scrape.A;
  const B = r.scrape.B;
  const G = r.scrape.gzipA;
  const goal = (ok) => (ok ? '**met**' : '**not met**');
  const fl = S[FLOOR];
  const fc = S[FLOOR_CLIENT];
  const roundRows = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, runs] of Object.entries(r.saturation)) {
      const x = runs[i];
      if (!x) continue;
      roundRows.push(
        `| ${i + 1} | ${name} | ${fmt(x.rps)} | ${name === 'direct' ? '–' : fmt(x.cpuUsPerReq, 1)} | ${name === 'direct' ? '–' : fmt(x.cpuUsPerReq / r.saturation.nginx[i].cpuUsPerReq, 2)} | ${fmt(x.p50)} | ${fmt(x.foreignPct)} | ${fmt(x.load1, 2)} |`,
      );
    }
  }
  const pr = r.profile;
  const profileRows = pr
    ? pr.areas.map((a) => `| ${a.area.startsWith('undici') ? UNDICI_AREA : a.area} | ${fmt(a.share * 100, 1)} % | ${fmt(a.share * sc.cpu, 1)} |`)
    : ['| (no profile in this run) | – | – |'];
  return `## metrics-sidecar

Reverse proxy + RED metrics (apps/metrics-sidecar) against nginx and the reference peer, on loopback, all in one run.

**Command:** \`npx nx run metrics-sidecar:bench\` (runs \`node apps/metrics-sidecar/bench/run.mjs\` after the build;
${ROUNDS} interleaved rounds × ${SECONDS} s per config (order reversed every other round) after a ${WARMUP} s warm-up each,
medians with [min–max]).

**Setup:** the upstream is nginx (1 worker, \`return 200\` with a fixed 1,038-byte JSON body) pinned to core 0 together
with wrk (\`wrk -t1 -c${CONNECTIONS} --latency\`, GET \`${PATH}\`). Each proxy is one process pinned alone to core 1:
**nginx** (1 worker, upstream keepalive 64, HTTP/1.1, no access log, no metrics); **fastify+reply-from**
(\`bench/peer-reply-from.mjs\`: @fastify/reply-from, undici 64 connections, the same Node options, the same metrics recorded with prom-client
label objects in \`onResponse\`, the same route templating); **sidecar** (\`node dist/main.js\` with the image's
\`NODE_OPTIONS=${SIDECAR_NODE_OPTIONS}\`, default settings: all metrics on, probes on, log level warn; its upstream side is its own
HTTP/1.1 client, \`src/upstream.ts\`); two **floors**, nothing but a bare node:http server and an upstream client: no metrics, no request id,
no X-Forwarded-* — \`bench/floor-proxy.mjs\` with an undici Pool (64 connections, the \`dispatch\` handler shape the sidecar used before its own
client), and \`bench/floor-client.mjs\` with the sidecar's client (\`dist/upstream.js\`, the same settings as the sidecar). **direct** is wrk against the upstream itself (no proxy). Every config returned the
upstream's body byte for byte before the runs. CPU is utime+stime from /proc of the proxy's processes (nginx: master +
worker); RSS is the largest of 0.5 s samples of VmRSS during a run, "peak" is VmHWM (the process's lifetime high-water
mark, which includes transient V8 compilation memory).

**Machine and load:** ${r.environment.cpu}, ${r.environment.cores} cores, Linux ${r.environment.kernel}, Node ${r.environment.node},
nginx ${r.environment.nginx}, ${r.environment.wrk}. ${r.environment.date}. Load average before: ${r.environment.loadBefore};
after: ${r.loadAfter}. Other engineers' builds and tests shared this VM during the run. "Foreign CPU" is the machine's
busy time (from /proc/stat, 200% = both cores) minus what the proxy, the upstream and wrk used: load this run did not
cause, competing for the same two cores (the proxy's core included). Absolute req/s and tail latencies are therefore
noisy; CPU µs per request (the proxy's own time) is the steadier measure, and the ratios compare configs measured
interleaved in the same rounds.

### Saturation (wrk -c${CONNECTIONS}, ${SECONDS} s × ${ROUNDS})

| config | req/s | proxy CPU % of a core | CPU µs / req | req/s per proxy core | p50 µs | p99 µs | RSS MB / peak | upstream CPU % | foreign CPU % | errors + non-2xx |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Every round's samples (CPU µs per request; "× nginx" is against nginx's sample of the same round; load is the 1-minute
load average when the sample started):

| round | config | req/s | CPU µs / req | × nginx | p50 µs | foreign CPU % | load1 |
|---|---|---|---|---|---|---|---|
${roundRows.join('\n')}

### Where the microseconds go

${pr ? `One more sidecar (same settings) under the same wrk load with V8's \`--cpu-prof\`, ${PROFILE_SECONDS} s after a warm-up (${fmt(pr.rps)} req/s,
${fmt(pr.cpuUsPerReq, 1)} µs CPU per request with the profiler on, load ${fmt(pr.load1, 2)}): self time by area over the measured ${PROFILE_SECONDS} s only (start-up and warm-up
samples left out), idle excluded, and that share of the
sidecar's median CPU per request above (${fmt(sc.cpu, 1)} µs). Kernel time inside a syscall (loopback TCP delivers to the
receiver inside the sender's \`writev\`) is counted under the JS-to-native call that made it.` : 'No profile in this run.'}

| area | share of busy samples | ≈ µs / request |
|---|---|---|
${profileRows.join('\n')}

The floor rows: node:http + undici alone (\`bench/floor-proxy.mjs\`) ${fl ? `${fmt(fl.cpu, 1)} µs, ${fmt(fl.cpu / n.cpu, 2)} × nginx` : '–'}; node:http + the sidecar's
own client alone (\`bench/floor-client.mjs\`) ${fc ? `${fmt(fc.cpu, 1)} µs, ${fmt(fc.cpu / n.cpu, 2)} × nginx` : '–'}. The sidecar adds ${fc ? `${fmt(sc.cpu - fc.cpu, 1)} µs (${fmt(((sc.cpu - fc.cpu) / sc.cpu) * 100, 0)} % of its CPU)` : '–'}
on top of the second for request ids, X-Forwarded-*, hop-by-hop filtering, client-gone detection, the RED metrics, the process
metrics and the probes. ${fl && fc ? `Replacing undici by the purpose-built client saves ${fmt(fl.cpu - fc.cpu, 1)} µs per request between the floors (undici's Pool, its wasm llhttp,
its stream glue, and the \`setImmediate\` by which undici 7 defers every request on a reused keep-alive connection).` : ''}

### Paced (~1,000 req/s: wrk -c10 with a random 0–20 ms think time, ${PACED} s)

| config | req/s | p50 µs | added p50 µs vs direct | p99 µs | proxy CPU % | RSS MB | foreign CPU % |
|---|---|---|---|---|---|---|---|
${pacedRows.join('\n')}

### /metrics with the route cap (200) reached

A fresh sidecar; serial scrapes over one keep-alive connection from the bench process, 200 timed after 20 warm-ups.
"server CPU" is the serving process's utime+stime (all its threads: JIT and GC included) over the 200 timed scrapes,
per scrape. Each **floor** row runs the same loop right after, against a bare node:http server on the sidecar's core
answering a fixed copy of that state's exposition: the cost of moving those bytes through loopback and the client on
this machine at that moment, with no metrics work.

| state | requests sent | route templates | label sets (requests_total) | sample lines | body | p50 ms | p99 ms | max ms | server CPU ms / scrape |
|---|---|---|---|---|---|---|---|---|---|
| A: distinct paths (GET/POST), cap + overflow | ${fmt(A.sent)} | ${A.templates} + overflow | ${A.labelSets} | ${fmt(A.lines)} | ${fmt(A.bytes / 1024)} KB | ${fmt(A.p50, 2)} | ${fmt(A.p99, 2)} | ${fmt(A.max, 2)} | ${fmt(A.cpuMsPerScrape, 2)} |
${G ? `| A, gzip (\`Accept-Encoding: gzip\`, level 1) | ${fmt(G.sent)} | ${G.templates} + overflow | ${G.labelSets} | ${fmt(G.lines)} | ${fmt(G.wireBytes / 1024)} KB on the wire | ${fmt(G.p50, 2)} | ${fmt(G.p99, 2)} | ${fmt(G.max, 2)} | ${fmt(G.cpuMsPerScrape, 2)} |\n` : ''}${floorRow('A', r.scrape.floorA)}
| B: A + 400 paths × {GET, POST} × {200, 404} | ${fmt(B.sent)} | ${B.templates} + overflow | ${B.labelSets} | ${fmt(B.lines)} | ${fmt(B.bytes / 1024)} KB | ${fmt(B.p50, 2)} | ${fmt(B.p99, 2)} | ${fmt(B.max, 2)} | ${fmt(B.cpuMsPerScrape, 2)} |
${floorRow('B', r.scrape.floorB)}

Sidecar RSS after state B: ${fmt(r.scrape.rssMb, 1)} MB. The sidecar's own counter saw ${fmt(r.sidecarCounted)} requests during
the saturation rounds for wrk's ${fmt(r.wrkTotalSidecar)} completed ones (the difference is requests still in flight when
wrk stopped, at most ${CONNECTIONS} per run).

### Goals (ratios from this run)

| goal | measured | |
|---|---|---|
| CPU per proxied request ≤ 3 × nginx's (≥ 0.33 × nginx per core), all metrics on | medians: ${fmt(cpuRatio, 2)} × nginx (${fmt(n.cpu / sc.cpu, 2)} × nginx per core); best rounds: ${fmt(cpuRatioBest, 2)} ×; the floors: node:http + undici ${fl ? fmt(fl.cpu / n.cpu, 2) : '–'} ×, node:http + the sidecar's client ${fc ? fmt(fc.cpu / n.cpu, 2) : '–'} × | ${goal(cpuRatio <= 3)} |
| ≥ 1.4 × the throughput of fastify + reply-from | req/s medians: ${fmt(thrRatio, 2)} ×; CPU per request (capacity per core): medians ${fmt(rf.cpu / sc.cpu, 2)} ×, best rounds ${fmt(rfRatioBest, 2)} × | ${goal(thrRatio >= 1.4)} by req/s, ${goal(rf.cpu / sc.cpu >= 1.4)} by CPU |
| added p50 ≤ 0.3 ms at ~1,000 req/s | +${fmt(addedP50, 3)} ms (direct ${fmt(P.direct.p50)} µs → sidecar ${fmt(P.sidecar.p50)} µs); nginx in the same run +${fmt((P.nginx.p50 - P.direct.p50) / 1000, 3)} ms, ${P[FLOOR_CLIENT] ? `the sidecar's client alone +${fmt((P[FLOOR_CLIENT].p50 - P.direct.p50) / 1000, 3)} ms, ` : ''}foreign CPU during the sidecar's paced run ${fmt(P.sidecar.foreignPct)} % | ${goal(addedP50 <= 0.3)} |
| RSS ≤ 110 MB at saturation | ${fmt(sc.rss, 1)} MB (largest sample during the runs); lifetime peak ${fmt(sc.hwm, 1)} MB | ${goal(sc.rss <= 110)} |
| /metrics ≤ 5 ms with the cap reached | state A: p50 ${fmt(A.p50, 2)} ms, p99 ${fmt(A.p99, 2)} ms${r.scrape.floorA ? ` (floor for the same bytes: p50 ${fmt(r.scrape.floorA.p50, 2)} ms, p99 ${fmt(r.scrape.floorA.p99, 2)} ms)` : ''} | ${goal(A.p50 <= 5)} at p50${A.p99 <= 5 ? ' and p99' : '; p99 is over'} |
| (stress, beyond the goal) the cap reached with 4 label sets per template | state B: p50 ${fmt(B.p50, 2)} ms, p99 ${fmt(B.p99, 2)} ms${r.scrape.floorB ? ` (floor: p50 ${fmt(r.scrape.floorB.p50, 2)} ms, p99 ${fmt(r.scrape.floorB.p99, 2)} ms)` : ''} | ${B.p50 <= 5 ? 'within 5 ms at p50' : 'over 5 ms'}${B.p50 <= 5 ? (B.p99 <= 5 ? ' and p99' : '; p99 is over') : ''} |

Paired by round (the two configs ran back to back in each round), fastify+reply-from ÷ sidecar CPU per request:
${r.saturation.sidecar.map((x, i) => fmt(r.saturation['fastify+reply-from'][i].cpuUsPerReq / x.cpuUsPerReq, 2)).join(', ')}; sidecar ÷ fastify+reply-from req/s:
${r.saturation.sidecar.map((x, i) => fmt(x.rps / r.saturation['fastify+reply-from'][i].rps, 2)).join(', ')}; sidecar ÷ nginx CPU per request:
${r.saturation.sidecar.map((x, i) => fmt(x.cpuUsPerReq / r.saturation.nginx[i].cpuUsPerReq, 2)).join(', ')}.
${G ? `\ngzip scrapes (state A): ${fmt(G.wireBytes / 1024)} KB on the wire instead of ${fmt(A.bytes / 1024)} KB, ${fmt(G.cpuMsPerScrape, 2)} ms of server CPU per scrape instead of ${fmt(A.cpuMsPerScrape, 2)} ms (compression runs on libuv's thread pool, so the event loop only waits for it).\n` : ''}

nginx for reference: ${fmt(n.cpu, 1)} µs CPU per request, ${fmt(perCore(n))} req/s per core; fastify+reply-from ${fmt(rf.cpu, 1)} µs;
sidecar ${fmt(sc.cpu, 1)} µs. Median load average (1 min) during the saturation runs: ${fmt(sc.load, 2)}.
${process.env.BENCH_PREVIOUS ? `\n### Other runs of the same code and command\n\n${process.env.BENCH_PREVIOUS.split(',').map(renderPrevious).join('\n')}` : ''}`;
}

function writeSection(md) {
  const file = join(ROOT, 'docs', 'benchmarks.md');
  mkdirSync(dirname(file), { recursive: true });
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = current.search(/^## metrics-sidecar\s*$/m);
  let next;
  if (start === -1) next = `${current.trimEnd()}\n\n${md.trimEnd()}\n`;
  else {
    const rest = current.slice(start + 1);
    const end = rest.search(/^## /m);
    const after = end === -1 ? '' : rest.slice(end);
    next = `${current.slice(0, start)}${md.trimEnd()}\n${after ? `\n${after}` : ''}`;
  }
  writeFileSync(file, next);
  log(`wrote the metrics-sidecar section of ${file}`);
}

(process.env.BENCH_RENDER ? Promise.resolve().then(() => publish(JSON.parse(readFileSync(process.env.BENCH_RENDER, 'utf8')))) : main())
  .then(cleanup)
  .catch(async (err) => {
    log(err.stack ?? String(err));
    await cleanup();
    process.exit(1);
  });
