/**
 * The Logs dashboard of a `logging.backend: victorialogs` env against a real VictoriaLogs (the
 * victoria-logs libs/logging builds from its Go module; `logging:build-victorialogs`), once for
 * each way logs reach it:
 * - `agent: vlagent` — entries with the fields vlagent's Kubernetes collector sets
 *   (SEED.logging.logFields.vlagent, `_stream` = namespace, pod, container), ingested over
 *   `/insert/jsonline` with JSON lines' keys as fields and msg/message/log as `_msg`, as vlagent
 *   writes them (the real vlagent → VictoriaLogs path is libs/logging's e2e test);
 * - `agent: promtail` — a Loki push (JSON body, as Promtail's client sends it) with the relabel
 *   table's labels, to `/insert/loki/api/v1/push?_msg_field=msg,message,log` (libs/logging's push URL).
 *
 * Every LogsQL expression of the dashboard, with its Grafana variables replaced as the plugin does
 * (one namespace as is, several as `"(a|b)"`, All as `.*`), is sent to the endpoint the plugin's
 * backend uses for its query type (instant → /select/logsql/query, statsRange →
 * /select/logsql/stats_query_range), and the answers are checked: volume per app, exactly the
 * error lines of tests/support/log-lines.ts counted (none of the lines that merely mention
 * "error"), the error share, the newest error lines, the namespace filter, and the namespace/pod
 * variables' field_values.
 */
import { loadEnvConfig, SEED, type EnvConfig } from '@bitpin/config';
import { requireServer } from '@bitpin/test-support';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboards, type GrafanaDashboard } from '../src/index.js';
import { logFields } from '../src/grafana/logs/index.js';
import { queriesOf, type DashboardQuery } from './dashboard-queries.js';
import { ERRORS, NOT_ERRORS } from './support/log-lines.js';
import {
  ingestJsonLines,
  logsqlQuery,
  logsqlStatsRange,
  pushLoki,
  startVictoriaLogs,
  VL_BUILD_SCRIPT,
  VL_VERSION,
  vlBuilt,
  vlPost,
  type VictoriaLogs,
} from './support/victorialogs.js';

const suite = requireServer(`victoria-logs ${VL_VERSION || '(version unknown)'}`, vlBuilt(), `npx nx run logging:build-victorialogs (bash ${VL_BUILD_SCRIPT})`);

type Agent = 'vlagent' | 'promtail';
const envFor = (agent: Agent): EnvConfig => loadEnvConfig('dev', { overrides: { logging: { backend: 'victorialogs', agent } } });
const logsDashboard = (env: EnvConfig): GrafanaDashboard => buildDashboards(env).find((d) => d.uid === 'bitpin-logs')!;

/** What Grafana and the plugin put in place of the variables (`$namespace`, `$pod`). */
function substitute(expr: string, values: { namespace: string; pod: string }): string {
  const out = expr.replace(/\$(namespace|pod)\b/g, (_m, name: 'namespace' | 'pod') => values[name]);
  if (/\$[a-zA-Z_{]/.test(out)) throw new Error(`a variable is left in ${out}`);
  return out;
}

/** JSON keys taken as the message, by vlagent and by the agents' Loki push URL. */
const MSG_FIELDS = SEED.logging.victorialogs.msgFields.join(',');

/** All test lines carry this time, so every range query puts them in one step. */
const T = Math.floor(Date.now() / 1000) - 300;
const RANGE = { start: String(T - 600), end: String(T + 600), step: '1h' };
const STEP_SECONDS = 3600;

interface Pod {
  readonly name: string;
  readonly app: string;
  readonly container: string;
  readonly lines: readonly string[];
}

/** One entry per line, as each path writes it. */
async function ingest(vl: VictoriaLogs, agent: Agent, ns: string, pods: readonly Pod[]): Promise<void> {
  const f = logFields(envFor(agent));
  if (agent === 'vlagent') {
    const rows = pods.flatMap((p) =>
      p.lines.map((line) => {
        let parsed: Record<string, unknown> | undefined;
        try {
          const v = JSON.parse(line) as unknown;
          if (v && typeof v === 'object' && !Array.isArray(v)) parsed = v as Record<string, unknown>;
        } catch {
          parsed = undefined;
        }
        return {
          ...(parsed ?? { log: line }),
          _time: new Date(T * 1000).toISOString(),
          [f.namespace]: ns,
          [f.pod]: p.name,
          [f.container]: p.container,
          [f.node_name]: 'kwok-node-0',
          [f.app]: p.app,
        };
      }),
    );
    await ingestJsonLines(vl.url, rows, { _stream_fields: [f.namespace, f.pod, f.container].join(','), _msg_field: MSG_FIELDS });
  } else {
    await pushLoki(
      vl.url,
      pods.map((p) => ({
        stream: { [f.namespace]: ns, [f.pod]: p.name, [f.container]: p.container, [f.app]: p.app, [f.node_name]: 'kwok-node-0', stream: 'stdout' },
        values: p.lines.map((line, i) => [String(BigInt(T) * 1_000_000_000n + BigInt(i)), line] as [string, string]),
      })),
      // The query of the agents' push URL (libs/logging logPushUrl): JSON lines' msg/message/log is the message.
      { _msg_field: MSG_FIELDS },
    );
  }
}

suite(`the Logs dashboard's LogsQL on a real victoria-logs ${VL_VERSION}`, () => {
  let vl: VictoriaLogs;
  const id = randomBytes(3).toString('hex');

  beforeAll(async () => {
    vl = await startVictoriaLogs();
  }, 60_000);
  afterAll(async () => {
    await vl?.stop();
  }, 30_000);

  describe.each<Agent>(['vlagent', 'promtail'])('logging.agent %s', (agent) => {
    const env = envFor(agent);
    const f = logFields(env);
    const ns = `logs-${agent}-${id}`;
    const otherNs = `other-${agent}-${id}`;
    const web: Pod = { name: `bitpin-app-7c9d8f6b5-${id}`, app: 'bitpin-app', container: 'django', lines: [...ERRORS, ...NOT_ERRORS].map(([, l]) => l) };
    const worker: Pod = { name: `matcher-0-${id}`, app: 'matcher', container: 'engine', lines: NOT_ERRORS.map(([, l]) => l) };
    /** Error lines in another namespace: a namespace filter that leaks would count them. */
    const stranger: Pod = { name: `intruder-${id}`, app: 'bitpin-app', container: 'django', lines: ERRORS.map(([, l]) => l) };
    const dashboard = logsDashboard(env);
    const logsql = queriesOf(dashboard).filter((q) => q.language === 'logsql');
    const byPanel = (title: string): DashboardQuery => {
      const q = logsql.find((x) => x.panel === title);
      if (!q) throw new Error(`no LogsQL panel '${title}' on ${dashboard.uid}: ${logsql.map((x) => x.panel).join(', ')}`);
      return q;
    };
    const one = { namespace: ns, pod: '.*' };

    beforeAll(async () => {
      await ingest(vl, agent, ns, [web, worker]);
      await ingest(vl, agent, otherNs, [stranger]);
      // New entries become searchable within about a second.
      const expected = web.lines.length + worker.lines.length + stranger.lines.length;
      const deadline = Date.now() + 30_000;
      let n = 0;
      while (Date.now() < deadline) {
        n = (await logsqlQuery(vl.url, `{${f.namespace}=~"${ns}|${otherNs}"}`, { start: RANGE.start, end: RANGE.end, limit: '1000' })).length;
        if (n >= expected) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(n, 'entries searchable').toBe(expected);
    }, 60_000);

    it('the dashboard reads VictoriaLogs through the plugin: four LogsQL targets (three statsRange, one instant) on the stream fields of the agent', () => {
      expect(logsql.map((q) => [q.panel, q.queryType])).toEqual([
        ['Log volume by app', 'statsRange'],
        ['Error lines by app', 'statsRange'],
        ['Error share by app', 'statsRange'],
        ['Recent error lines', 'instant'],
      ]);
      for (const q of logsql) expect(q.expr).toContain(`{${f.namespace}=~"$namespace", ${f.pod}=~"$pod"}`);
      expect(queriesOf(dashboard).filter((q) => q.language === 'logql')).toEqual([]);
    });

    it('every LogsQL expression is accepted by VictoriaLogs at its endpoint, for one namespace, several and All', async () => {
      const problems: string[] = [];
      for (const values of [one, { namespace: `(${ns}|${otherNs})`, pod: `(${web.name}|${worker.name})` }, { namespace: '.*', pod: '.*' }]) {
        for (const q of logsql) {
          const query = substitute(q.expr, values);
          try {
            if (q.queryType === 'statsRange') await logsqlStatsRange(vl.url, query, RANGE);
            else await logsqlQuery(vl.url, query, { start: RANGE.start, end: RANGE.end, limit: String(q.maxLines ?? 1000) });
          } catch (e) {
            problems.push(`${q.panel}: ${(e as Error).message}`);
          }
        }
      }
      expect(problems).toEqual([]);
    }, 60_000);

    it('Log volume by app: every line of the namespace, per app (rate × step = lines)', async () => {
      const series = await logsqlStatsRange(vl.url, substitute(byPanel('Log volume by app').expr, one), RANGE);
      const lines = Object.fromEntries(series.map((s) => [s.metric[f.app], Math.round(s.values.reduce((a, [, v]) => a + Number(v) * STEP_SECONDS, 0))]));
      expect(lines).toEqual({ 'bitpin-app': web.lines.length, matcher: worker.lines.length });
    });

    it('Error lines by app: exactly the error lines of every format, none that merely mention "error", only in the selected namespace', async () => {
      const series = await logsqlStatsRange(vl.url, substitute(byPanel('Error lines by app').expr, one), RANGE);
      const errors = Object.fromEntries(series.map((s) => [s.metric[f.app], Math.round(s.values.reduce((a, [, v]) => a + Number(v) * STEP_SECONDS, 0))]));
      expect(errors).toEqual({ 'bitpin-app': ERRORS.length });
    });

    it('Error share by app: errors / lines per app', async () => {
      const series = await logsqlStatsRange(vl.url, substitute(byPanel('Error share by app').expr, one), RANGE);
      const share = Object.fromEntries(series.map((s) => [s.metric[f.app], Number(s.values.at(-1)![1])]));
      expect(share['bitpin-app']).toBeCloseTo(ERRORS.length / web.lines.length, 6);
      expect(share['matcher'] ?? 0).toBe(0);
      expect(series.every((s) => s.metric['__name__'] === 'share')).toBe(true);
    });

    it('Recent error lines: the error lines of the selected pods, newest first, within the line limit', async () => {
      const q = byPanel('Recent error lines');
      expect(q.maxLines).toBe(500);
      const rows = await logsqlQuery(vl.url, substitute(q.expr, one), { start: RANGE.start, end: RANGE.end, limit: String(q.maxLines) });
      const summary = rows.map((r) => `${r[f.pod]}: ${r['_msg']} level=${r['level'] ?? r['msg_level'] ?? r['record.error_severity']}`);
      expect(rows.length, summary.join('\n')).toBe(ERRORS.length);
      expect(new Set(rows.map((r) => r[f.pod]))).toEqual(new Set([web.name]));
      expect(new Set(rows.map((r) => r[f.namespace]))).toEqual(new Set([ns]));
      // Only the pod selected: the worker has no error lines, so selecting it alone gives none.
      expect(await logsqlQuery(vl.url, substitute(q.expr, { namespace: ns, pod: worker.name }), { start: RANGE.start, end: RANGE.end, limit: '500' })).toEqual([]);
    });

    it('the namespace and pod variables find their values (field_values, as the plugin asks)', async () => {
      const vars = (dashboard.json['templating'] as { list: Array<{ name: string; type: string; query: unknown }> }).list.filter((v) => v.type === 'query');
      expect(vars.map((v) => v.name)).toEqual(['namespace', 'pod']);
      const values = async (name: string, subst: { namespace: string; pod: string }) => {
        const q = vars.find((v) => v.name === name)!.query as { type: string; field: string; query: string };
        expect(q.type).toBe('fieldValue');
        const body = JSON.parse(await vlPost(vl.url, '/select/logsql/field_values', { query: substitute(q.query, subst), field: q.field, start: RANGE.start, end: RANGE.end })) as {
          values: Array<{ value: string }>;
        };
        return body.values.map((v) => v.value);
      };
      expect(await values('namespace', one)).toEqual(expect.arrayContaining([ns, otherNs]));
      expect((await values('pod', one)).sort()).toEqual([web.name, worker.name].sort());
    });
  });

  it('the data source variable defaults to the provisioned VictoriaLogs uid and every log panel uses it', () => {
    const d = logsDashboard(envFor('vlagent'));
    const list = (d.json['templating'] as { list: Array<Record<string, unknown>> }).list;
    expect(list[0]).toMatchObject({ type: 'datasource', name: 'victorialogs_datasource', query: SEED.grafana.datasources.victorialogs.type, current: { value: SEED.grafana.datasources.victorialogs.uid } });
  });
});
