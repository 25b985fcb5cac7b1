/**
 * One broken thing pages once: each inhibition of the generated routing tree on a real
 * Alertmanager (the deployed 0.28.1, built from its Go module), with amtool's routing test for the
 * alert that still pages. Alerts go in through POST /api/v2/alerts; GET /api/v2/alerts reports
 * which ones are inhibited and by what. Each case uses its own namespace / node / job so the cases
 * cannot inhibit each other.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, runTool, startProcess, waitFor, type Proc } from '@bitpin/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INHIBITION_ALERTS } from '../src/alertmanager-config.js';
import { assemble, receiversFragment } from './support/alertmanager.js';
import { env, synth } from './support/fixtures.js';
import { getJson, upstream, type Release } from './support/tools.js';

type Labels = Record<string, string>;
interface Case {
  readonly name: string;
  /** The alert that must keep paging, and the receiver amtool must route it to. */
  readonly source: Labels & { severity: string };
  readonly inhibited: readonly Labels[];
  readonly notInhibited: readonly Labels[];
}

const CASES: readonly Case[] = [
  {
    name: 'a NotReady node silences the alerts of its pods, not of pods elsewhere or alerts without a node',
    source: { alertname: 'KubeNodeNotReady', severity: 'critical', node: 'node-a' },
    inhibited: [
      { alertname: 'CNPGInstanceDown', severity: 'critical', namespace: 'case-node', pod: 'bitpin-cluster-1', node: 'node-a' },
      { alertname: 'BitpinAppSidecarDown', severity: 'warning', namespace: 'case-node', pod: 'bitpin-app-1', node: 'node-a', job: 'case-node-app' },
      { alertname: 'KubePodCrashLooping', severity: 'warning', namespace: 'case-node', pod: 'bitpin-app-2', container: 'app', node: 'node-a' },
    ],
    notInhibited: [
      { alertname: 'CNPGInstanceDown', severity: 'critical', namespace: 'case-node', pod: 'bitpin-cluster-2', node: 'node-b' },
      { alertname: 'BitpinAppHighErrorRate', severity: 'critical', namespace: 'case-node' },
    ],
  },
  {
    name: "a component's volume alert silences KubePersistentVolumeFillingUp of the same PVC, never a critical by a warning",
    source: { alertname: 'CNPGVolumeFillingUp', severity: 'critical', namespace: 'case-vol', persistentvolumeclaim: 'bitpin-cluster-1' },
    inhibited: [
      { alertname: 'KubePersistentVolumeFillingUp', severity: 'critical', namespace: 'case-vol', persistentvolumeclaim: 'bitpin-cluster-1' },
      { alertname: 'KubePersistentVolumeFillingUp', severity: 'warning', namespace: 'case-vol', persistentvolumeclaim: 'bitpin-backup' },
    ],
    notInhibited: [
      // BackupVolumeFillingUp is a warning: the generic critical of its PVC still pages.
      { alertname: 'BackupVolumeFillingUp', severity: 'warning', namespace: 'case-vol', persistentvolumeclaim: 'bitpin-backup' },
      { alertname: 'KubePersistentVolumeFillingUp', severity: 'critical', namespace: 'case-vol', persistentvolumeclaim: 'bitpin-backup' },
      { alertname: 'KubePersistentVolumeFillingUp', severity: 'warning', namespace: 'case-vol', persistentvolumeclaim: 'loki-0' },
    ],
  },
  {
    name: 'an offline database cluster silences its instance alerts and the app\'s database alert, in its namespace only',
    source: { alertname: 'CNPGClusterOffline', severity: 'critical', namespace: 'case-db', job: 'case-db-cnpg' },
    inhibited: [
      { alertname: 'CNPGInstanceDown', severity: 'critical', namespace: 'case-db', pod: 'bitpin-cluster-1' },
      { alertname: 'CNPGNoPrimary', severity: 'critical', namespace: 'case-db' },
      { alertname: 'BitpinAppDatabaseUnreachable', severity: 'critical', namespace: 'case-db' },
    ],
    notInhibited: [{ alertname: 'CNPGInstanceDown', severity: 'critical', namespace: 'case-db-other', pod: 'bitpin-cluster-1' }],
  },
  {
    name: 'a scrape job that is gone silences TargetDown and per-target alerts of that job only',
    source: { alertname: 'LokiDown', severity: 'critical', namespace: 'case-job', job: 'case-job-loki' },
    inhibited: [{ alertname: 'TargetDown', severity: 'warning', namespace: 'case-job', job: 'case-job-loki' }],
    notInhibited: [{ alertname: 'TargetDown', severity: 'warning', namespace: 'case-job', job: 'case-job-grafana' }],
  },
  {
    name: "Django down silences the app's error, burn and upstream alerts of its namespace",
    source: { alertname: 'BitpinAppDown', severity: 'critical', namespace: 'case-app' },
    inhibited: INHIBITION_ALERTS.appSymptoms.map((alertname) => ({ alertname, severity: 'critical', namespace: 'case-app' })),
    notInhibited: [{ alertname: 'BitpinAppHighErrorRate', severity: 'critical', namespace: 'case-app-other' }],
  },
  {
    name: 'a high 5xx rate silences the availability burn alerts, not the latency ones',
    source: { alertname: 'BitpinAppHighErrorRate', severity: 'critical', namespace: 'case-errors' },
    inhibited: [
      { alertname: 'BitpinAppErrorBudgetBurnFast', severity: 'critical', namespace: 'case-errors' },
      { alertname: 'BitpinAppErrorBudgetBurnSlow', severity: 'warning', namespace: 'case-errors' },
    ],
    notInhibited: [{ alertname: 'BitpinAppLatencyBudgetBurnFast', severity: 'critical', namespace: 'case-errors' }],
  },
];

let release: Release | undefined;
let tmp: string;
let config: string;
let url: string;
let proc: Proc | undefined;

const key = (l: Labels) => JSON.stringify(Object.entries(l).sort());

beforeAll(async () => {
  release = upstream();
  tmp = mkdtempSync(join(tmpdir(), 'bitpin-monitoring-inhibit-'));
  const built = assemble(tmp, synth(env('prod')), receiversFragment('http://127.0.0.1:9'), release.amtool);
  if (built.status !== 0) throw new Error(`assemble.sh init failed: ${built.output}`);
  config = built.out;
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  proc = startProcess(release.alertmanager, [
    `--config.file=${config}`,
    `--storage.path=${join(tmp, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
  await waitFor(`Alertmanager ready\n${proc.output()}`, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 30_000);
  const endsAt = new Date(Date.now() + 3600_000).toISOString();
  const all = CASES.flatMap((c) => [c.source, ...c.inhibited, ...c.notInhibited]);
  const res = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(all.map((labels) => ({ labels: { ...labels, env: 'prod' }, annotations: { summary: 'test' }, endsAt }))),
  });
  if (!res.ok) throw new Error(`POST /api/v2/alerts: ${res.status} ${await res.text()}`);
}, 60_000);

afterAll(async () => {
  await proc?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function statuses(): Promise<Map<string, string[]>> {
  const alerts: Array<{ labels: Labels; status: { inhibitedBy: string[] } }> = await getJson(`${url}/api/v2/alerts`);
  return new Map(
    alerts.map((a) => {
      const { env: _env, ...labels } = a.labels;
      return [key(labels), a.status.inhibitedBy];
    }),
  );
}

describe.each(CASES)('inhibition on a real Alertmanager 0.28.1: $name', (c) => {
  it('inhibits exactly the duplicates (GET /api/v2/alerts inhibitedBy)', async () => {
    const last = await waitFor(
      'the inhibitions to settle',
      async () => {
        const s = await statuses();
        const ok = c.inhibited.every((l) => (s.get(key(l))?.length ?? 0) > 0);
        return ok ? s : undefined;
      },
      20_000,
    );
    expect(last.get(key(c.source))).toEqual([]);
    for (const l of c.inhibited) expect(last.get(key(l))?.length, `${key(l)} should be inhibited`).toBeGreaterThan(0);
    for (const l of c.notInhibited) expect(last.get(key(l)), `${key(l)} should not be inhibited`).toEqual([]);
  });

  it('routes the alert that keeps paging to its receiver (amtool config routes test)', () => {
    const labels = Object.entries({ ...c.source, env: 'prod' }).map(([k, v]) => `${k}=${v}`);
    const r = runTool(release!.amtool, ['config', 'routes', 'test', `--config.file=${config}`, `--verify.receivers=${c.source.severity}`, ...labels]);
    expect(r.status, r.output).toBe(0);
  });
});

describe('the inhibitions name real alerts', () => {
  it('every alert name in INHIBITION_ALERTS has a runbook (every generated alert has one)', () => {
    const runbooks = resolve(import.meta.dirname, '../../../docs/runbooks');
    const names = Object.values(INHIBITION_ALERTS).flatMap((v) => (typeof v === 'string' ? [v] : [...v]));
    expect(names.filter((n) => !existsSync(join(runbooks, `${n}.md`)))).toEqual([]);
  });
});
