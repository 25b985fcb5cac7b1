/**
 * A real Prometheus — the deployed 3.5.0 and Debian's 2.42, side by side — started with the
 * StatefulSet's own arguments from the synthesized prometheus.yml and rules ConfigMap. Test-only
 * changes (support/static-discovery.ts): Kubernetes discovery becomes static targets on
 * 127.0.0.1 (a node:http exporter, and Prometheus itself for job `prometheus`), https jobs are
 * scraped over http, the alerting target is a node:http stand-in for Alertmanager's v2 API, and
 * file paths point at a temp directory. Everything listens on 127.0.0.1; both are stopped in
 * afterAll.
 */
import { SEED } from '@bitpin/config';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SAMPLE_RULES, env, find, synth } from './support/fixtures.js';
import { staticDiscovery } from './support/static-discovery.js';
import { freePort, startProcess, waitFor, type Proc } from '@bitpin/test-support';
import { describeWithDebian, getJson, recorder, requireDebian, upstream, type Recorder, type Release } from './support/tools.js';

const EXPOSITION = (path: string) =>
  `# HELP bitpin_test_target A target that is up.\n# TYPE bitpin_test_target gauge\nbitpin_test_target{path="${path}"} 1\n`;

interface Running {
  release: Release;
  url: string;
  proc: Proc;
  alerts: Recorder;
  scrapeConfigs: number;
}

let tmp: string;
let exporter: Recorder;
const running: Running[] = [];

beforeAll(async () => {
  if (describeWithDebian.decision.action !== 'run') return;
  tmp = mkdtempSync(join(tmpdir(), 'bitpin-monitoring-prom-'));
  exporter = await recorder((req) => ({ type: 'text/plain; version=0.0.4; charset=utf-8', body: EXPOSITION(req.url ?? '') }));
  const objs = synth(env('dev'), { ruleFiles: [SAMPLE_RULES] });
  const deployed = find(objs, 'ConfigMap', 'prometheus-config').data!['prometheus.yml']!;
  const args: string[] = find(objs, 'StatefulSet', 'prometheus').spec.template.spec.containers[0].args;

  for (const release of [upstream(), requireDebian()]) {
    const dir = join(tmp, release.prometheus.includes('/usr/bin/') ? 'debian' : 'upstream');
    const rules = join(dir, 'rules');
    mkdirSync(rules, { recursive: true });
    for (const [name, text] of Object.entries(find(objs, 'ConfigMap', 'prometheus-rules').data ?? {})) writeFileSync(join(rules, name), text);
    const port = await freePort();
    const alerts = await recorder(() => ({ type: 'application/json', body: '' }));
    const config = staticDiscovery(
      deployed.replaceAll('/etc/prometheus/rules', rules),
      (job) => (job === SEED.monitoring.jobs.prometheus ? `127.0.0.1:${port}` : `127.0.0.1:${exporter.port}`),
      `127.0.0.1:${alerts.port}`,
    );
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const localArgs = args.map((a) =>
      a.startsWith('--config.file=')
        ? `--config.file=${join(dir, 'prometheus.yml')}`
        : a.startsWith('--storage.tsdb.path=')
          ? `--storage.tsdb.path=${join(dir, 'data')}`
          : a.startsWith('--web.listen-address=')
            ? `--web.listen-address=127.0.0.1:${port}`
            : a,
    );
    const proc = startProcess(release.prometheus, localArgs);
    const scrapeConfigs = (config.match(/^ {2}- job_name:/gm) ?? []).length;
    running.push({ release, url: `http://127.0.0.1:${port}`, proc, alerts, scrapeConfigs });
  }
  for (const r of running) {
    await waitFor(`${r.release.name} to be ready\n${r.proc.output()}`, async () => ((await fetch(`${r.url}/-/ready`)).ok ? true : undefined), 30_000);
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(running.map(async (r) => Promise.all([r.proc.stop(), r.alerts.close()])));
  await exporter?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describeWithDebian.each([0, 1])('a real Prometheus (release %i: 0 = deployed 3.5.0, 1 = Debian 2.42) from the generated config', (i) => {
  const r = () => running[i]!;

  it('accepts the StatefulSet\'s arguments: retention by time and size, lifecycle API for the reloader', async () => {
    const flags = (await getJson(`${r().url}/api/v1/status/flags`)).data;
    const dev = env('dev').monitoring.prometheus;
    expect(flags['storage.tsdb.retention.time']).toBe(dev.retentionTime);
    // Prometheus reads "2GB" as 2 GiB and echoes it so: the config's 90%-of-volume rule counts the same way.
    expect(flags['storage.tsdb.retention.size']).toBe(dev.retentionSize.replace(/([KMGTPE])B$/, '$1iB'));
    expect(flags['web.enable-lifecycle']).toBe('true');
    const reload = await fetch(`${r().url}/-/reload`, { method: 'POST' });
    expect(reload.status, r().proc.output()).toBe(200);
  });

  it('scrapes every job, each target up, under the job names the rules select on', async () => {
    const targets = await waitFor(
      `every target of ${r().release.name} to be scraped and up`,
      async () => {
        const active: any[] = (await getJson(`${r().url}/api/v1/targets?state=active`)).data.activeTargets;
        return active.length === r().scrapeConfigs && active.every((t) => t.health === 'up') ? active : undefined;
      },
      90_000,
    );
    const jobs = new Set(targets.map((t) => t.labels.job));
    // The jobs dev turns on: its log store is Loki (logging.backend), so VictoriaLogs' job is not
    // configured, and neither is PgBouncer's without connection pooling (database.pooler).
    const dev = env('dev');
    const off = new Set<string>([
      dev.logging.backend === 'victorialogs' ? SEED.monitoring.jobs.loki : SEED.monitoring.jobs.victorialogs,
      ...(dev.database.pooler.enabled ? [] : [SEED.monitoring.jobs.pooler]),
    ]);
    expect([...jobs].sort()).toEqual([...new Set(Object.values(SEED.monitoring.jobs))].filter((j) => !off.has(j)).sort());
    const kubelet = targets.filter((t) => t.labels.job === 'kubelet').map((t) => t.labels.metrics_path).sort();
    expect(kubelet).toEqual(['/metrics', '/metrics/cadvisor']);
    expect(exporter.requests.map((q) => q.path)).toContain('/metrics/cadvisor');
  }, 100_000);

  it('loads every rule group healthy and evaluates it: Watchdog fires, the recording rule has a value per job', async () => {
    const groups = await waitFor(
      `every rule of ${r().release.name} evaluated healthy`,
      async () => {
        const gs: any[] = (await getJson(`${r().url}/api/v1/rules`)).data.groups;
        const rules = gs.flatMap((g) => g.rules);
        return rules.length > 0 && rules.every((x) => x.health === 'ok' && !String(x.lastEvaluation).startsWith('0001')) ? gs : undefined;
      },
      90_000,
    );
    expect(groups.map((g) => g.name).sort()).toEqual(['bitpin-sample.targets', 'bitpin-sample.watchdog']);
    expect(groups.flatMap((g) => g.rules).length).toBe(4);
    const alerts: any[] = (await getJson(`${r().url}/api/v1/alerts`)).data.alerts;
    expect(alerts.find((a) => a.labels.alertname === 'Watchdog')?.state).toBe('firing');
    // Two scrape configs (kubelet and cAdvisor), one job: the mixin's view. (Until both targets
    // have been scraped once, an evaluation can still see 1.)
    await waitFor(
      'job:up:sum{job="kubelet"} == 2',
      async () => {
        const res: any[] = (await getJson(`${r().url}/api/v1/query?query=${encodeURIComponent('job:up:sum{job="kubelet"}')}`)).data.result;
        return res[0]?.value[1] === '2' ? true : undefined;
      },
      60_000,
    );
  }, 100_000);

  // The first evaluation can come before discovery has handed over the Alertmanager; the next
  // send is one resend delay (1m) later.
  it('sends firing alerts to Alertmanager\'s v2 API with the env as an external label', async () => {
    const sent = await waitFor(
      'an alert POST',
      async () => r().alerts.requests.find((q) => q.path === '/api/v2/alerts' && q.body.includes('Watchdog')),
      120_000,
    );
    const watchdog = (JSON.parse(sent.body) as any[]).find((a) => a.labels.alertname === 'Watchdog');
    expect(watchdog.labels).toMatchObject({ alertname: 'Watchdog', severity: 'none', env: 'dev' });
  }, 130_000);
});
