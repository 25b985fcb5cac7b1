/**
 * The Redis cache row of the Exchange app dashboard and redis.rules.yaml on a real Prometheus
 * scraping a real redis_exporter (built by libs/cache's build-redis-exporter target from its Go
 * module; located here, never built) beside a real redis-server (Debian) that has been filled past
 * maxmemory: every query of the row returns data, every rule loads and evaluates. The container
 * memory limit, which comes from kube-state-metrics in a cluster, is served by a stub exposition
 * (there is no kubelet here). Bounded waits only.
 */
import { loadEnvConfig, SEED } from '@bitpin/config';
import { freePorts, requireServers, runTool, startProcess, waitFor, type Proc } from '@bitpin/test-support';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildDashboards, buildRuleFiles } from '../src/index.js';
import { queriesOf, substituteVariables } from './dashboard-queries.js';
import { releases } from './support/releases.js';

const ENV = loadEnvConfig('prod');
const NS = SEED.namespaces.app;
const POD = `${SEED.cache.name}-e2e`;
const PASSWORD = 'cache-row-test-password';
const REDIS = '/usr/bin/redis-server';
const EXPORTER = spawnSync('bash', [resolve(import.meta.dirname, '../../libs/cache/scripts/build-redis-exporter.sh'), '--print-bin'], { encoding: 'utf8' }).stdout.trim();
const PROM = releases().at(-1)!;
const WAIT_MS = 45_000;

const suite = requireServers([
  { name: `redis-server (${REDIS})`, available: existsSync(REDIS), installHint: 'run tools/scripts/install-system.sh (Debian package redis-server)' },
  { name: `redis_exporter (${EXPORTER})`, available: existsSync(EXPORTER), installHint: 'run npx nx run cache:build-redis-exporter' },
  { name: `prometheus (${PROM.prometheus})`, available: existsSync(PROM.prometheus), installHint: 'run tools/scripts/install-system.sh (Debian package prometheus)' },
]);

suite('the Redis cache row and rules on a real Prometheus', () => {
  const procs: Proc[] = [];
  let stub: Server | undefined;
  let dir = '';
  let url = '';
  let cli: (...args: string[]) => { status: number | null; output: string } = () => ({ status: null, output: '' });
  const query = async (expr: string) => {
    const body = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { status: string; error?: string; data?: { result: Array<{ value: [number, string] }> } };
    return body;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dashboards-cache-row-'));
    const [redisPort, exporterPort, stubPort, promPort] = await freePorts(4);
    procs.push(startProcess(REDIS, ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory', '8mb', '--maxmemory-policy', 'allkeys-lru', '--requirepass', PASSWORD, '--enable-debug-command', 'local'], { name: 'redis-server' }));
    cli = (...args: string[]) => runTool('redis-cli', ['-p', String(redisPort), ...args], { REDISCLI_AUTH: PASSWORD });
    await waitFor('redis-server', () => cli('PING').output.includes('PONG') || undefined, WAIT_MS);
    // Past maxmemory (~20 MB of 1 KiB values), then writes that make Redis evict; a hit and a miss.
    expect(cli('DEBUG', 'POPULATE', '20000', 'key', '1024').status).toBe(0);
    for (let i = 0; i < 20; i++) cli('SET', `after:${i}`, 'x'.repeat(1024));
    cli('GET', 'after:19');
    cli('GET', 'missing');
    expect(Number(/evicted_keys:(\d+)/.exec(cli('INFO', 'stats').output)?.[1])).toBeGreaterThan(0);

    procs.push(startProcess(EXPORTER, [], { name: 'redis_exporter', cleanEnv: true, env: { REDIS_ADDR: `redis://127.0.0.1:${redisPort}`, REDIS_PASSWORD: PASSWORD, REDIS_EXPORTER_WEB_LISTEN_ADDRESS: `127.0.0.1:${exporterPort}` } }));
    // kube-state-metrics' view of the redis container's memory limit (prod: 1Gi).
    stub = createServer((_, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(`kube_pod_container_resource_limits{namespace="${NS}",pod="${POD}",container="redis",node="node-1",resource="memory",unit="byte"} ${2 ** 30}\n`);
    });
    await new Promise<void>((ok) => stub!.listen(stubPort, '127.0.0.1', ok));

    const rules = buildRuleFiles(ENV).find((f) => f.fileName === 'redis.rules.yaml')!;
    await writeFile(join(dir, rules.fileName), rules.yaml);
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
        `rule_files: [${join(dir, rules.fileName)}]`,
        'scrape_configs:',
        `  - job_name: ${SEED.monitoring.jobs.cache}`,
        `    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'], labels: { namespace: ${NS}, pod: ${POD} } }]`,
        `  - job_name: ${SEED.monitoring.jobs.kubeStateMetrics}`,
        '    honor_labels: true',
        `    static_configs: [{ targets: ['127.0.0.1:${stubPort}'] }]`,
        '',
      ].join('\n'),
    );
    const prom = startProcess(PROM.prometheus, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { name: PROM.name, cleanEnv: true, env: { PATH: '/usr/bin:/bin' } });
    procs.push(prom);
    url = `http://127.0.0.1:${promPort}`;
    await waitFor(`${PROM.name} scraping redis_exporter`, async () => {
      if (prom.child.exitCode !== null) throw new Error(`${PROM.name} exited: ${prom.output()}`);
      const r = await query(`redis_up{job="${SEED.monitoring.jobs.cache}"} == 1`);
      return (r.data?.result.length ?? 0) > 0 || undefined;
    }, WAIT_MS);
  }, 90_000);
  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    await new Promise<void>((ok) => (stub ? stub.close(() => ok()) : ok()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every query of the Redis cache row returns data', async () => {
    const app = buildDashboards(ENV).find((d) => d.uid === 'bitpin-app')!;
    const row = queriesOf(app).filter((q) => q.expr.includes(`job="${SEED.monitoring.jobs.cache}"`));
    expect(row.length).toBeGreaterThanOrEqual(9);
    // rate() needs two samples in its window: wait until every query has a finite value.
    const empty = await waitFor('every Redis row query to return data', async () => {
      // Lookups keep coming, as from Django: the hit ratio needs some in its rate window.
      cli('GET', 'after:19');
      cli('GET', 'missing');
      const missing: string[] = [];
      for (const q of row) {
        const r = await query(substituteVariables(q.expr, { namespace: NS }));
        if (r.status !== 'success') throw new Error(`${q.panel}: ${r.error}\n  ${q.expr}`);
        if (!r.data!.result.some((x) => Number.isFinite(Number(x.value[1])))) missing.push(`${q.panel}: ${q.expr}`);
      }
      if (missing.length) throw new Error(`no data yet:\n${missing.join('\n')}`);
      return missing;
    }, WAIT_MS);
    expect(empty).toEqual([]);
    // The memory-of-limit join sees the redis container's limit: resident memory of a 1Gi limit.
    const ratio = await query(`max by (namespace, pod) (redis_memory_used_rss_bytes{job="redis"}) / on (namespace, pod) max by (namespace, pod) (kube_pod_container_resource_limits{job="kube-state-metrics", container="redis", resource="memory"})`);
    expect(Number(ratio.data!.result[0]!.value[1])).toBeGreaterThan(0);
  }, 60_000);

  it('redis.rules.yaml loads and every rule evaluates; RedisDown is silent while Redis is up', async () => {
    const body = await waitFor('the redis rule group evaluated', async () => {
      const r = (await (await fetch(`${url}/api/v1/rules`)).json()) as { data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string; state?: string }> }> } };
      const g = r.data.groups.find((x) => x.name === 'redis');
      return g && g.rules.every((x) => x.health !== 'unknown') ? g : undefined;
    }, WAIT_MS);
    expect(body.rules.map((x) => x.name).sort()).toEqual(['RedisDown', 'RedisEvictionsHigh', 'RedisMemoryNearMax']);
    expect(body.rules.filter((x) => x.health !== 'ok').map((x) => `${x.name}: ${x.lastError}`)).toEqual([]);
    expect(body.rules.find((x) => x.name === 'RedisDown')!.state).toBe('inactive');
  }, 60_000);
});
