/**
 * Issue 19's Show for the whole-job alerts: the deployed Prometheus (3.5.0, built by
 * libs/monitoring/scripts/build-prometheus.sh) loads the shipped rule files, scrapes the real
 * metrics sidecar (apps/metrics-sidecar/dist/main.js) as job bitpin-app, and when that one real
 * target stops, BitpinAppMetricsAbsent (`absent(up{job="bitpin-app"} == 1)`) fires on
 * /api/v1/alerts. While the target was up it was neither pending nor firing.
 *
 * The shipped `for:` durations (10m for this alert) are shortened to {@link SHORT_FOR} in a
 * test-only copy of the rule files written to a temporary directory, with a 1 s evaluation
 * interval; the generated files and the builders are never changed (checked below). Every wait is
 * bounded (waitFor with a timeout); nothing asserts how long anything took.
 */
import { loadEnvConfig, SEED } from '@bitpin/config';
import { SIDECAR_PATHS } from '@bitpin/metrics-contract';
import { freePort, requireServer, startProcess, waitFor, type Proc } from '@bitpin/test-support';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRuleFiles, durationSeconds, isAlertingRule, type PromDuration, type PrometheusRuleFile, type Rule, type RuleGroup } from '../src/index.js';
import { toYaml, type YamlValue } from '../src/yaml.js';
import { deployedRelease } from './support/releases.js';
import { startSidecar, statusOf } from './support/sidecar.js';
import { startUpstream, type Upstream } from './support/upstream.js';

const JOB = SEED.monitoring.jobs.app;
const ALERT = 'BitpinAppMetricsAbsent';
/** A whole-job alert of a job this test never scrapes: it fires early and proves the short `for:` is in effect. */
const CONTROL_ALERT = 'KubeAPIDown';
/** The test-only `for:` (an alert with a shorter one keeps its own). */
const SHORT_FOR: PromDuration = '5s';
const WAIT_MS = 90_000;

const RELEASE = deployedRelease();
const describeWithPrometheus = requireServer(
  `the deployed Prometheus (${RELEASE?.prometheus ?? 'libs/monitoring/scripts/build-prometheus.sh --print-bin-dir'})`,
  RELEASE !== undefined,
  'npx nx run monitoring:build-prometheus (libs/monitoring/scripts/build-prometheus.sh)',
);

/** The shipped rule files as Prometheus reads them. */
const SHIPPED: readonly PrometheusRuleFile[] = buildRuleFiles(loadEnvConfig('dev'));

/** A copy of one rule with `for:` at most {@link SHORT_FOR}. */
function shortened(rule: Rule): Rule {
  if (!isAlertingRule(rule) || rule.for === undefined) return rule;
  return (durationSeconds(rule.for) ?? 0) <= (durationSeconds(SHORT_FOR) ?? 0) ? rule : { ...rule, for: SHORT_FOR };
}

/** The test-only copy of a rule file: every group evaluated every second, every `for:` shortened. */
function testCopy(file: PrometheusRuleFile): { fileName: string; groups: RuleGroup[] } {
  return { fileName: file.fileName, groups: file.groups.map((g) => ({ name: g.name, interval: '1s', rules: g.rules.map(shortened) })) };
}

interface ActiveAlert {
  readonly labels: Record<string, string>;
  readonly state: 'pending' | 'firing' | 'inactive';
  readonly activeAt?: string;
}

function getJson<T>(url: string): Promise<T> {
  return new Promise((resolveReq, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        try {
          resolveReq(JSON.parse(body) as T);
        } catch (e) {
          reject(new Error(`${url} answered ${res.statusCode}: ${body.slice(0, 300)} (${String(e)})`));
        }
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
  });
}


let dir: string | undefined;
let upstream: Upstream | undefined;
let sidecar: Proc | undefined;
let prometheus: Proc | undefined;
let promUrl = '';
let metricsUrl = '';

const alertsNow = async (): Promise<ActiveAlert[]> =>
  (await getJson<{ data: { alerts: ActiveAlert[] } }>(`${promUrl}/api/v1/alerts`)).data.alerts;
const instant = async (expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> =>
  (await getJson<{ data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }>(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`)).data.result;

describe('the test-only copy of the rule files', () => {
  it(`changes only for: (down to ${SHORT_FOR}) and the evaluation interval; the shipped ${ALERT} keeps for: 10m`, () => {
    const strip = (groups: readonly RuleGroup[]) => groups.map((g) => g.rules.map((r) => (isAlertingRule(r) ? { ...r, for: undefined } : r)));
    for (const f of SHIPPED) expect(strip(testCopy(f).groups), f.fileName).toEqual(strip(f.groups));
    const shipped = SHIPPED.flatMap((f) => f.groups.flatMap((g) => g.rules)).find((r) => isAlertingRule(r) && r.alert === ALERT);
    expect(shipped).toMatchObject({ alert: ALERT, for: '10m', expr: `absent(up{job="${JOB}"} == 1)` });
    expect(SHIPPED.find((f) => f.fileName === 'bitpin-app.rules.yaml')?.yaml).toMatch(/^ {8}for: "?10m"?$/m);
  });
});

beforeAll(async () => {
  if (describeWithPrometheus.decision.action !== 'run' || !RELEASE) return;
  dir = await mkdtemp(join(tmpdir(), 'dashboards-absent-'));
  upstream = await startUpstream({ slowMs: 100 });

  const [proxyPort, metricsPort, promPort] = [await freePort(), await freePort(), await freePort()];
  const pathOnly = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
  metricsUrl = `http://127.0.0.1:${metricsPort}`;
  sidecar = await startSidecar({ upstream: upstream.origin, proxyPort, metricsPort });
  // The sidecar labelled as libs/monitoring's pod discovery labels it; the only target of its job.
  // Prometheus starts without rules and gets them by a reload once it scrapes the sidecar: the
  // first scrape waits for target discovery, and an absent() alert evaluated before it would be
  // right to go pending (no target yet) — not the case this test is about.
  const config = (rules: readonly string[]) => ({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [...rules],
    scrape_configs: [
      {
        job_name: JOB,
        metrics_path: SIDECAR_PATHS.metrics,
        static_configs: [{ targets: [`127.0.0.1:${metricsPort}`], labels: { namespace: SEED.namespaces.app, pod: 'bitpin-app-absent', container: SEED.sidecar.name } }],
      },
    ],
  });
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, toYaml(config([]) as unknown as YamlValue));
  promUrl = `http://127.0.0.1:${promPort}`;
  const p = startProcess(RELEASE.prometheus, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--log.level=warn',
  ], { name: RELEASE.name, cleanEnv: true, env: pathOnly });
  prometheus = p;
  await waitFor(`${RELEASE.name} to be ready`, async () => {
    if (p.child.exitCode !== null) throw new Error(`${RELEASE.name} exited ${p.child.exitCode}: ${p.output()}`);
    return (await statusOf(`${promUrl}/-/ready`)) === 200 ? true : undefined;
  }, WAIT_MS);
  await waitFor(`${RELEASE.name} to scrape the sidecar`, async () => ((await instant(`up{job="${JOB}"} == 1`)).length > 0 ? true : undefined), WAIT_MS, 250);

  const ruleFiles: string[] = [];
  for (const f of SHIPPED) {
    const copy = testCopy(f);
    const path = join(dir, copy.fileName);
    await writeFile(path, toYaml({ groups: copy.groups as unknown as YamlValue }, ['Test-only copy: for: shortened, evaluated every second.']));
    ruleFiles.push(path);
  }
  await writeFile(configFile, toYaml(config(ruleFiles) as unknown as YamlValue));
  p.child.kill('SIGHUP');
  await waitFor(`${RELEASE.name} to load the ${ruleFiles.length} rule files`, async () => {
    const groups = (await getJson<{ data: { groups: unknown[] } }>(`${promUrl}/api/v1/rules`)).data.groups;
    return groups.length === SHIPPED.reduce((n, f) => n + f.groups.length, 0) ? true : undefined;
  }, WAIT_MS, 250);
}, 2 * WAIT_MS);

afterAll(async () => {
  await prometheus?.stop();
  await sidecar?.stop();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describeWithPrometheus(`${ALERT} on the deployed Prometheus when the real metrics sidecar stops`, () => {
  it(`is quiet while the sidecar is scraped, and fires on /api/v1/alerts once the sidecar (the job's only target) stops`, async () => {
    const state = async (name: string) => (await alertsNow()).filter((a) => a.labels['alertname'] === name);

    // The rules loaded and run with the short for:, and the sidecar has been scraped up for a while:
    // the control alert (a job nobody scrapes here) fires, and up{job} == 1 has held over 10 scrapes.
    await waitFor(
      `${CONTROL_ALERT} (job ${SEED.monitoring.jobs.apiserver} is never scraped here) firing and ten up scrapes of the sidecar`,
      async () => {
        const control = (await state(CONTROL_ALERT)).some((a) => a.state === 'firing');
        const ups = await instant(`count_over_time((up{job="${JOB}"} == 1)[1m:1s]) >= 10`);
        return control && ups.length > 0 ? true : undefined;
      },
      WAIT_MS,
      250,
    );
    expect(await instant(`up{job="${JOB}"}`)).toEqual([expect.objectContaining({ value: [expect.any(Number), '1'] })]);
    expect(await state(ALERT), `${ALERT} while the sidecar is up`).toEqual([]);
    // Neither pending nor firing at any evaluation so far (the rules were loaded after the first up scrape).
    expect(await instant(`count_over_time(ALERTS{alertname="${ALERT}"}[10m])`), `${ALERT} history while up`).toEqual([]);

    // Stop the real target.
    await (sidecar as Proc).stop();
    await expect(statusOf(`${metricsUrl}${SIDECAR_PATHS.ready}`)).rejects.toThrow();

    const firing = await waitFor(
      `${ALERT} firing on ${promUrl}/api/v1/alerts after the sidecar stopped`,
      async () => (await state(ALERT)).find((a) => a.state === 'firing'),
      WAIT_MS,
      250,
    );
    expect(firing.labels).toEqual({ alertname: ALERT, job: JOB, namespace: SEED.namespaces.app, severity: 'critical' });
    expect(await instant(`up{job="${JOB}"}`)).toEqual([expect.objectContaining({ value: [expect.any(Number), '0'] })]);
  }, 4 * WAIT_MS);
});
