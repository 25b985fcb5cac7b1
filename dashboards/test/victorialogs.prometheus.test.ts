/**
 * The PromQL of the Logs dashboard of a `logging.backend: victorialogs`, `agent: vlagent` env on a
 * real Prometheus (Debian's 2.42, and the deployed 3.5.0 when libs/monitoring has built it)
 * scraping the real victoria-logs and vlagent (libs/logging's `build-victorialogs`, v1.52.2) as
 * jobs `victorialogs` and `log-agent`, labelled as libs/monitoring's pod discovery labels them.
 * Lines go through vlagent into VictoriaLogs (vlagent's own /insert/jsonline, then its native
 * remote write), and one line too old for the retention straight to VictoriaLogs (dropped with
 * reason too_small_timestamp). Every PromQL query of the dashboard parses, evaluates and returns
 * data; the VictoriaLogs row shows what happened (rows ingested, the drop and its reason, the
 * volume share, data and free bytes, the agent's sent blocks). The env's rule files load and
 * every logging rule evaluates without error on these series.
 */
import { loadEnvConfig, SEED } from '@bitpin/config';
import { freePort, requireServers, startProcess, waitFor, type Proc } from '@bitpin/test-support';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboards, buildRuleFiles } from '../src/index.js';
import { toYaml, type YamlValue } from '../src/yaml.js';
import { queriesOf, substituteVariables } from './dashboard-queries.js';
import { releases } from './support/releases.js';
import { ingestJsonLines, startVictoriaLogs, VL_BIN_DIR, VL_BUILD_SCRIPT, VL_VERSION, vlBuilt, type VictoriaLogs } from './support/victorialogs.js';

const VLAGENT = VL_BIN_DIR ? join(VL_BIN_DIR, 'vlagent') : '';
const RELEASES = releases();
const suite = requireServers([
  { name: `victoria-logs and vlagent ${VL_VERSION}`, available: vlBuilt() && existsSync(VLAGENT), installHint: `npx nx run logging:build-victorialogs (bash ${VL_BUILD_SCRIPT})` },
  ...RELEASES.map((r) => ({ name: `${r.name} (${r.prometheus})`, available: existsSync(r.prometheus), installHint: 'run tools/scripts/install-system.sh or set PROMETHEUS_BIN' })),
]);

const env = loadEnvConfig('dev', { overrides: { logging: { backend: 'victorialogs', agent: 'vlagent' } } });
const dashboard = buildDashboards(env).find((d) => d.uid === 'bitpin-logs')!;
const promql = queriesOf(dashboard).filter((q) => q.language === 'promql');
const JOBS = SEED.monitoring.jobs;

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function instant(url: string, expr: string): Promise<{ status: string; error?: string; samples: Sample[] }> {
  const r = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
  const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } };
  return { status: body.status, error: body.error, samples: body.data?.resultType === 'vector' ? body.data.result : [] };
}

suite(`the Logs dashboard's VictoriaLogs row on a real Prometheus scraping victoria-logs and vlagent ${VL_VERSION}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dashboards-vlprom-'));
  let vl: VictoriaLogs;
  let agent: Proc;
  let agentUrl = '';
  const proms = new Map<string, { url: string; proc: Proc }>();

  beforeAll(async () => {
    vl = await startVictoriaLogs();
    const agentPort = await freePort();
    agentUrl = `http://127.0.0.1:${agentPort}`;
    agent = startProcess(VLAGENT, [`-remoteWrite.url=${vl.url}/insert/native`, `-httpListenAddr=127.0.0.1:${agentPort}`, `-tmpDataPath=${join(dir, 'vlagent')}`, '-loggerLevel=WARN'], { name: 'vlagent' });
    await waitFor('vlagent /health', async () => {
      if (agent.child.exitCode !== null) throw new Error(`vlagent exited ${agent.child.exitCode}: ${agent.output().slice(-2000)}`);
      return (await fetch(`${agentUrl}/health`).catch(() => undefined))?.ok ?? false;
    }, 30_000);

    const rules = buildRuleFiles(env);
    for (const r of rules) await writeFile(join(dir, r.fileName), r.yaml);
    for (const [i, release] of RELEASES.entries()) {
      const port = await freePort();
      const config = {
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: rules.map((r) => join(dir, r.fileName)),
        scrape_configs: [
          { job_name: JOBS.victorialogs, static_configs: [{ targets: [vl.target], labels: { namespace: SEED.namespaces.logging, pod: 'victorialogs-0' } }] },
          { job_name: JOBS.logAgent, static_configs: [{ targets: [`127.0.0.1:${agentPort}`], labels: { namespace: SEED.namespaces.logging, pod: 'vlagent-x7k2p' } }] },
        ],
      };
      await writeFile(join(dir, `prometheus-${i}.yml`), toYaml(config as unknown as YamlValue));
      const url = `http://127.0.0.1:${port}`;
      const proc = startProcess(release.prometheus, [`--config.file=${join(dir, `prometheus-${i}.yml`)}`, `--storage.tsdb.path=${join(dir, `tsdb-${i}`)}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
        name: release.name,
        cleanEnv: true,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      });
      proms.set(release.name, { url, proc });
      await waitFor(`${release.name} ready`, async () => {
        if (proc.child.exitCode !== null) throw new Error(`${release.name} exited ${proc.child.exitCode}: ${proc.output()}`);
        return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ?? false;
      }, 30_000);
    }
    const scrapes = async (n: number) => {
      for (const [name, { url }] of proms) {
        await waitFor(`${n} scrapes of both jobs in ${name}`, async () => {
          const r = await instant(url, `count by (job) (count_over_time(up{job=~"${JOBS.victorialogs}|${JOBS.logAgent}"}[1m]) >= ${n})`);
          return r.samples.length === 2;
        }, 60_000, 250);
      }
    };
    // Two batches with scrapes between: a counter series is born with the first one, so only the
    // second is an increase rate() can see.
    const batch = async (n: number) => {
      const now = new Date().toISOString();
      await ingestJsonLines(agentUrl, Array.from({ length: 50 }, (_, i) => ({ _msg: `order ${i} matched`, _time: now, 'kubernetes.pod_namespace': 'bitpin-task' })), {});
      await ingestJsonLines(vl.url, [{ _msg: 'a line from before the retention', _time: '2000-01-01T00:00:00Z' }], {});
      await waitFor(`vlagent delivered batch ${n}`, async () => {
        const m = await (await fetch(`${agentUrl}/metrics`)).text();
        return Number(/^vlagent_remotewrite_blocks_sent_total\{[^}]*\} (\d+)/m.exec(m)?.[1] ?? 0) >= n;
      }, 30_000, 250);
    };
    await batch(1);
    await scrapes(2);
    await batch(2);
    await scrapes(6);
  }, 180_000);

  afterAll(async () => {
    for (const { proc } of proms.values()) await proc.stop();
    await agent?.stop();
    await vl?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the dashboard has the VictoriaLogs row and no Loki panels', () => {
    const titles = (dashboard.json['panels'] as Array<{ title: string }>).map((p) => p.title);
    expect(titles).toEqual(expect.arrayContaining(['VictoriaLogs up', 'VictoriaLogs rows ingested', 'VictoriaLogs rows dropped', 'VictoriaLogs volume used', 'VictoriaLogs data and free space', 'Log agent (vlagent): sent vs dropped']));
    expect(titles.filter((t) => /loki/i.test(t))).toEqual([]);
    expect(promql.length).toBeGreaterThanOrEqual(8);
  });

  describe.each(RELEASES)('$name', (release) => {
    const url = () => proms.get(release.name)!.url;
    const value = async (panel: string, refId = 'A') => {
      const q = promql.find((x) => x.panel === panel && x.refId === refId);
      if (!q) throw new Error(`no PromQL ${refId} on panel '${panel}'`);
      const r = await instant(url(), substituteVariables(q.expr));
      expect(r.status, `${panel}: ${r.error}`).toBe('success');
      return r.samples;
    };

    it(`every PromQL query of the dashboard parses, evaluates and returns data`, async () => {
      const problems: string[] = [];
      for (const q of promql) {
        const r = await instant(url(), substituteVariables(q.expr));
        if (r.status !== 'success') problems.push(`${q.panel} / ${q.refId}: ${r.error}`);
        else if (r.samples.length === 0) problems.push(`${q.panel} / ${q.refId}: no data\n  ${q.expr}`);
      }
      expect(problems).toEqual([]);
    }, 60_000);

    it('VictoriaLogs up: 1', async () => {
      expect((await value('VictoriaLogs up')).map((s) => Number(s.value[1]))).toEqual([1]);
    });

    it("rows ingested: vlagent's lines arrive as type nativeinsert", async () => {
      const byType = Object.fromEntries((await value('VictoriaLogs rows ingested')).map((s) => [s.metric['type'], Number(s.value[1])]));
      expect(byType, 'rate by type').toMatchObject({ nativeinsert: expect.any(Number) });
      expect(byType['nativeinsert']).toBeGreaterThan(0);
    });

    it('rows dropped: the line older than the retention, by its reason; no line skipped as too long', async () => {
      const byReason = Object.fromEntries((await value('VictoriaLogs rows dropped')).map((s) => [s.metric['reason'], Number(s.value[1])]));
      expect(byReason['too_small_timestamp']).toBeGreaterThan(0);
      expect(byReason['too_many_fields']).toBe(0);
      expect((await value('VictoriaLogs rows dropped', 'B')).map((s) => Number(s.value[1]))).toEqual([0]);
    });

    it('volume used: a share in (0, 1) for the pod; data and free bytes', async () => {
      const used = await value('VictoriaLogs volume used');
      expect(used.map((s) => s.metric['pod'])).toEqual(['victorialogs-0']);
      expect(Number(used[0]!.value[1])).toBeGreaterThan(0);
      expect(Number(used[0]!.value[1])).toBeLessThan(1);
      const data = Object.fromEntries((await value('VictoriaLogs data and free space')).map((s) => [s.metric['type'], Number(s.value[1])]));
      expect(Object.keys(data).sort()).toEqual(['indexdb', 'storage']);
      expect(data['storage']).toBeGreaterThan(0);
      expect(Number((await value('VictoriaLogs data and free space', 'B'))[0]!.value[1])).toBeGreaterThan(0);
    });

    it('log agent: blocks sent, none dropped', async () => {
      expect(Number((await value('Log agent (vlagent): sent vs dropped', 'A'))[0]!.value[1])).toBeGreaterThan(0);
      expect((await value('Log agent (vlagent): sent vs dropped', 'B')).map((s) => Number(s.value[1]))).toEqual([0]);
    });

    it("the env's logging rules load and evaluate on these series", async () => {
      const body = (await (await fetch(`${url()}/api/v1/rules`)).json()) as { data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }> } };
      const logging = body.data.groups.find((g) => g.name === 'logging');
      expect(logging?.rules.map((r) => r.name).sort()).toEqual(['LogAgentDroppingLines', 'VictoriaLogsDiskFillingUp', 'VictoriaLogsDroppingRows']);
      await waitFor('the logging rules evaluated', async () => {
        const b = (await (await fetch(`${url()}/api/v1/rules`)).json()) as typeof body;
        return b.data.groups.find((g) => g.name === 'logging')!.rules.every((r) => r.health === 'ok');
      }, 30_000, 250);
    }, 60_000);
  });
});
