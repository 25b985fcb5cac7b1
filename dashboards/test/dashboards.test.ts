import { ENV_NAMES, loadEnvConfig, SEED } from '@bitpin/config';
import { histogramSeries, METRICS } from '@bitpin/metrics-contract';
import { describe, expect, it } from 'vitest';
import { buildDashboards, DASHBOARDS, LOKI_VAR, PROMETHEUS_VAR, VICTORIALOGS_VAR, type GrafanaDashboard } from '../src/index.js';
import { panelsOf, queriesOf, type Panel } from './dashboard-queries.js';

type Json = Record<string, unknown>;
const variables = (d: GrafanaDashboard) => (d.json['templating'] as { list: Json[] }).list;
const variable = (d: GrafanaDashboard, name: string) => variables(d).find((v) => v['name'] === name);

const EXPECTED = [
  ['bitpin-app', 'Bitpin / Exchange app'],
  ['bitpin-postgres', 'Bitpin / PostgreSQL (CloudNativePG)'],
  ['bitpin-backups', 'Bitpin / Backups'],
  ['bitpin-workloads', 'Bitpin / Kubernetes workloads'],
  ['bitpin-nodes', 'Bitpin / Nodes (USE method)'],
  ['bitpin-logs', 'Bitpin / Logs'],
  ['bitpin-alerts', 'Bitpin / Alerts overview'],
] as const;

/** Every env of the repository, plus the VictoriaLogs store with vlagent (no repository env runs it yet). */
const VICTORIALOGS_ENV = loadEnvConfig('dev', { overrides: { logging: { backend: 'victorialogs', agent: 'vlagent' } } });
const ENVS = [...ENV_NAMES.map((n) => [n, loadEnvConfig(n)] as const), ['dev-victorialogs', VICTORIALOGS_ENV] as const];

describe.each(ENVS)('dashboards of env %s', (_envName, env) => {
  const dashboards = buildDashboards(env);

  it('are the seven platform dashboards with stable uids, titles and file names', () => {
    expect(dashboards.map((d) => [d.uid, d.title])).toEqual(EXPECTED);
    for (const d of dashboards) {
      expect(d.fileName).toBe(`${d.uid}.json`);
      expect(d.json['uid']).toBe(d.uid);
      expect(d.json['title']).toBe(d.title);
      expect(d.json['schemaVersion']).toBe(42);
      expect(d.json['tags']).toContain('bitpin');
    }
  });

  it.each(dashboards.map((d) => [d.uid, d] as const))('%s: data-source variables default to the provisioned uids', (_uid, d) => {
    const prom = variable(d, PROMETHEUS_VAR);
    expect(prom).toMatchObject({ type: 'datasource', query: 'prometheus', current: { value: SEED.grafana.datasources.prometheus.uid } });
    const usesLoki = panelsOf(d).some((p) => (p.datasource as Json | undefined)?.['type'] === 'loki');
    if (usesLoki) {
      expect(variable(d, LOKI_VAR)).toMatchObject({ type: 'datasource', query: 'loki', current: { value: SEED.grafana.datasources.loki.uid } });
    }
    const vl = SEED.grafana.datasources.victorialogs;
    if (panelsOf(d).some((p) => (p.datasource as Json | undefined)?.['type'] === vl.type)) {
      expect(variable(d, VICTORIALOGS_VAR)).toMatchObject({ type: 'datasource', query: vl.type, current: { value: vl.uid } });
    }
    // Every panel and query points at a data-source variable, never at a hard-coded uid.
    for (const p of panelsOf(d)) {
      expect([`\${${PROMETHEUS_VAR}}`, `\${${LOKI_VAR}}`, `\${${VICTORIALOGS_VAR}}`]).toContain((p.datasource as Json)['uid']);
      for (const t of p.targets ?? []) expect((t['datasource'] as Json)['uid']).toBe((p.datasource as Json)['uid']);
    }
  });

  it.each(dashboards.map((d) => [d.uid, d] as const))('%s: has namespace/pod variables (nodes: instance) used by its queries', (uid, d) => {
    const names = uid === DASHBOARDS.nodes.uid ? ['instance'] : ['namespace', 'pod'];
    const exprs = queriesOf(d).map((q) => q.expr).join('\n');
    for (const n of names) {
      expect(variable(d, n), `variable ${n}`).toMatchObject({ type: 'query', multi: true, includeAll: true });
      expect(exprs).toContain(`$${n}`);
    }
  });

  it.each(dashboards.map((d) => [d.uid, d] as const))('%s: every panel has a title, description, unit, thresholds and at least one query', (_uid, d) => {
    const panels = panelsOf(d);
    expect(panels.length).toBeGreaterThanOrEqual(4);
    for (const p of panels) {
      const defaults = (p.fieldConfig as { defaults: Json }).defaults;
      expect(p.title, JSON.stringify(p)).toBeTruthy();
      expect(p.description, p.title).toBeTruthy();
      expect(defaults['unit'], `${p.title} has no unit`).toEqual(expect.any(String));
      expect((defaults['thresholds'] as { steps: unknown[] }).steps.length, p.title).toBeGreaterThanOrEqual(1);
      expect((p.targets ?? []).length, p.title).toBeGreaterThanOrEqual(1);
      expect(new Set(p.targets?.map((t) => t['refId'])).size, p.title).toBe(p.targets?.length);
    }
  });

  it.each(dashboards.map((d) => [d.uid, d] as const))('%s: layout fits 24 columns and panel ids are unique', (_uid, d) => {
    const all = d.json['panels'] as Panel[];
    expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
    for (const p of all) {
      const g = p.gridPos as { x: number; w: number; h: number };
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
      expect(g.h).toBeGreaterThan(0);
    }
  });

  it.each(dashboards.map((d) => [d.uid, d] as const))('%s: links to every other dashboard', (uid, d) => {
    const urls = (d.json['links'] as Json[]).map((l) => l['url']);
    for (const [other] of EXPECTED) if (other !== uid) expect(urls).toContain(`/d/${other}`);
    expect(d.json['links']).toContainEqual(expect.objectContaining({ type: 'dashboards', tags: ['bitpin'] }));
  });
});

describe('dashboards', () => {
  const dashboards = buildDashboards(loadEnvConfig('prod'));
  const byUid = (uid: string) => dashboards.find((d) => d.uid === uid) as GrafanaDashboard;

  it('take the exchange app metric names from the metric contract', () => {
    const exprs = queriesOf(byUid('bitpin-app')).map((q) => q.expr).join('\n');
    for (const name of [
      METRICS.httpRequests.name,
      histogramSeries('httpRequestDuration').bucket,
      METRICS.httpActiveRequests.name,
      METRICS.upstreamFailures.name,
      METRICS.probeUp.name,
      histogramSeries('probeDuration').bucket,
      METRICS.routeTemplates.name,
      METRICS.businessQueryErrors.name,
    ]) {
      expect(exprs).toContain(name);
    }
  });

  it('put per-env facts into thresholds and descriptions', () => {
    const dev = buildDashboards(loadEnvConfig('dev'));
    const conn = (ds: GrafanaDashboard[]) =>
      panelsOf(ds.find((d) => d.uid === 'bitpin-postgres') as GrafanaDashboard).find((p) => p.title === 'Connections vs max_connections');
    const steps = (p: Panel | undefined) => ((p?.fieldConfig as { defaults: Json }).defaults['thresholds'] as { steps: Json[] }).steps;
    expect(steps(conn(dev)).at(-1)).toEqual({ value: loadEnvConfig('dev').database.maxConnections, color: 'red' });
    expect(steps(conn(dashboards)).at(-1)).toEqual({ value: loadEnvConfig('prod').database.maxConnections, color: 'red' });
  });

  it.each(EXPECTED.map(([uid]) => uid))('%s matches its JSON snapshot (what Grafana provisions)', async (uid) => {
    await expect(`${JSON.stringify(byUid(uid).json, null, 2)}\n`).toMatchFileSnapshot(`./__snapshots__/dashboards/${uid}.json`);
  });

  it('bitpin-logs with logging.backend victorialogs and agent vlagent matches its JSON snapshot (LogsQL through the VictoriaLogs plugin)', async () => {
    const logs = buildDashboards(VICTORIALOGS_ENV).find((d) => d.uid === 'bitpin-logs') as GrafanaDashboard;
    await expect(`${JSON.stringify(logs.json, null, 2)}\n`).toMatchFileSnapshot('./__snapshots__/dashboards/bitpin-logs.victorialogs.json');
  });
});
