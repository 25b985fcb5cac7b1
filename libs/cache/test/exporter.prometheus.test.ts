/**
 * redis_exporter (built from its Go module at the deployed version, scripts/build-redis-exporter.sh)
 * beside a real redis-server started from the generated config, scraped by a real Prometheus as
 * job `redis` (SEED.monitoring.jobs.cache): the series the alerts and the dashboard row read are
 * there with the config's values, evictions show up after the cache is filled past maxmemory, and
 * `redis_up` drops to 0 when Redis stops while the exporter stays up. Bounded waits only.
 */
import { loadEnvConfig, SEED } from '@bitpin/config';
import { freePort, requireServers, startProcess, waitFor, type Proc } from '@bitpin/test-support';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { maxmemoryBytes } from '../src/index.js';
import { cacheObjects, REDIS_INSTALL_HINT, redisAvailable, REDIS_SERVER, startRedis, type RunningRedis } from './support/redis.js';

const ENV = loadEnvConfig('prod', { overrides: { cache: { maxmemory: '8Mi' } } });
const PASSWORD = randomBytes(32).toString('base64url');
const JOB = SEED.monitoring.jobs.cache;
const WAIT_MS = 45_000;

const EXPORTER = spawnSync('bash', [resolve(import.meta.dirname, '../scripts/build-redis-exporter.sh'), '--print-bin'], { encoding: 'utf8' }).stdout.trim();
/** The deployed Prometheus when libs/monitoring has built it, else Debian's (both real). */
const DEPLOYED = join(spawnSync('bash', [resolve(import.meta.dirname, '../../monitoring/scripts/build-prometheus.sh'), '--print-bin-dir'], { encoding: 'utf8' }).stdout.trim(), 'prometheus');
const PROMETHEUS = existsSync(DEPLOYED) ? DEPLOYED : '/usr/bin/prometheus';

const suite = requireServers([
  { name: `redis-server (${REDIS_SERVER})`, available: redisAvailable, installHint: REDIS_INSTALL_HINT },
  { name: `redis_exporter (${EXPORTER})`, available: existsSync(EXPORTER), installHint: 'run npx nx run cache:build-redis-exporter' },
  { name: `prometheus (${PROMETHEUS})`, available: existsSync(PROMETHEUS), installHint: 'run tools/scripts/install-system.sh (Debian package prometheus)' },
]);

suite('redis_exporter scraped by a real Prometheus', () => {
  let redis: RunningRedis | undefined;
  let exporter: Proc | undefined;
  let prometheus: Proc | undefined;
  let dir = '';
  let promUrl = '';

  const query = async (expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error}`);
    return body.data.result;
  };
  const valueOf = async (expr: string) => {
    const r = await query(expr);
    return r.length ? Number(r[0]!.value[1]) : undefined;
  };

  beforeAll(async () => {
    redis = await startRedis(ENV, PASSWORD);
    dir = await mkdtemp(join(tmpdir(), 'bitpin-cache-exporter-'));
    // The exporter's container as the manifest has it: its env, with the pod's addresses replaced.
    const deploy = cacheObjects(ENV).find((o) => o.kind === 'Deployment');
    const container = deploy.spec.template.spec.containers.find((c: any) => c.name === 'redis-exporter');
    const exporterPort = await freePort();
    const env: Record<string, string> = {};
    for (const e of container.env) {
      if (e.valueFrom?.secretKeyRef) env[e.name] = PASSWORD;
      else env[e.name] = e.value;
    }
    expect(env['REDIS_ADDR']).toBe(`redis://127.0.0.1:${SEED.cache.port}`);
    env['REDIS_ADDR'] = `redis://127.0.0.1:${redis.port}`;
    env['REDIS_EXPORTER_WEB_LISTEN_ADDRESS'] = `127.0.0.1:${exporterPort}`;
    exporter = startProcess(EXPORTER, [], { name: 'redis_exporter', cleanEnv: true, env });
    await waitFor('redis_exporter /health', async () => (await fetch(`http://127.0.0.1:${exporterPort}/health`)).ok || undefined, WAIT_MS);

    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const config = [
      'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      `  - job_name: ${JOB}`,
      '    static_configs:',
      `      - targets: ['127.0.0.1:${exporterPort}']`,
      `        labels: { namespace: ${SEED.namespaces.app}, pod: ${SEED.cache.name}-0 }`,
      '',
    ].join('\n');
    await writeFile(join(dir, 'prometheus.yml'), config);
    prometheus = startProcess(PROMETHEUS, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ], { name: 'prometheus', cleanEnv: true, env: { PATH: '/usr/bin:/bin' } });
    await waitFor(`prometheus to scrape job ${JOB}`, async () => {
      if (prometheus!.child.exitCode !== null) throw new Error(`prometheus exited: ${prometheus!.output()}`);
      return (await valueOf(`redis_up{job="${JOB}"}`)) === 1 || undefined;
    }, WAIT_MS);
  });
  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.stop();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports the configured maxmemory, the memory used and no evictions yet', async () => {
    const sel = `{job="${JOB}",namespace="${SEED.namespaces.app}"}`;
    expect(await valueOf(`redis_memory_max_bytes${sel}`)).toBe(maxmemoryBytes(ENV.cache));
    expect(await valueOf(`redis_config_maxmemory${sel}`)).toBe(maxmemoryBytes(ENV.cache));
    expect(await valueOf(`redis_memory_used_bytes${sel}`)).toBeGreaterThan(0);
    expect(await valueOf(`redis_evicted_keys_total${sel}`)).toBe(0);
    expect(await query(`redis_memory_max_bytes${sel}`)).toHaveLength(1);
  });

  it('shows evictions once the cache is filled past maxmemory, with used memory held at the maximum', async () => {
    const c = await redis!.client();
    const value = Buffer.alloc(4096, 'y');
    const keys = Math.ceil((3 * maxmemoryBytes(ENV.cache)) / value.length);
    for (let i = 0; i < keys; i += 500) {
      await Promise.all(c.pipeline(Array.from({ length: Math.min(500, keys - i) }, (_, j) => ['SET', `fill:${i + j}`, value] as const)));
    }
    // A scrape may land mid-fill: wait for one after it (most of the keys written are gone again).
    const evicted = await waitFor('redis_evicted_keys_total > half the keys written, in Prometheus', async () => {
      const v = await valueOf(`redis_evicted_keys_total{job="${JOB}"}`);
      return v !== undefined && v > keys / 2 ? v : undefined;
    }, WAIT_MS);
    expect(evicted).toBeLessThanOrEqual(keys);
    const ratio = await valueOf(`redis_memory_used_bytes{job="${JOB}"} / redis_memory_max_bytes{job="${JOB}"}`);
    console.info(`redis_exporter: evicted_keys_total ${evicted}, used/max ${ratio?.toFixed(3)}`);
    // The memory alert's ratio: near 1, not above it by more than one write.
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.01);
  });

  it('redis_up drops to 0 when Redis stops, while the exporter itself is still scraped', async () => {
    await redis!.stop();
    redis = undefined;
    await waitFor('redis_up == 0', async () => (await valueOf(`redis_up{job="${JOB}"}`)) === 0 || undefined, WAIT_MS);
    expect(await valueOf(`up{job="${JOB}"}`)).toBe(1);
  });
});
