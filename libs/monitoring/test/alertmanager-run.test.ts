/**
 * A real Alertmanager — the deployed 0.28.1 and Debian's 0.25 — started with the StatefulSet's
 * own arguments from the config the ConfigMap's assemble.sh builds out of the generated routing
 * tree and a receivers fragment whose webhooks point at a node:http recorder. Test alerts go in
 * through POST /api/v2/alerts; what comes out at the webhooks is what an operator's receivers
 * would get. Only file paths and the listen address differ from the pod. All on 127.0.0.1; the
 * Alertmanagers and the config watchers are stopped in afterAll.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assemble, receiversFragment } from './support/alertmanager.js';
import { env, find, synth } from './support/fixtures.js';
import { freePort, startProcess, waitFor, type Proc } from '@bitpin/test-support';
import { describeWithDebian, getJson, recorder, requireDebian, upstream, type Recorder, type Release } from './support/tools.js';

interface Running {
  release: Release;
  url: string;
  proc: Proc;
  dir: string;
  prefix: string;
  amtool: string;
  watcher?: Proc;
}

type Payload = { receiver: string; alerts: { labels: Record<string, string> }[] };

let tmp: string;
let webhook: Recorder;
const running: Running[] = [];
const objs = synth(env('dev'));

const inOneHour = () => new Date(Date.now() + 3600_000).toISOString();
const ALERTS = [
  { alertname: 'Watchdog', severity: 'none' },
  // One condition on node-a at both severities, and its warning on node-b.
  { alertname: 'BitpinVolumeFillingUp', severity: 'critical', namespace: 'bitpin-task', instance: 'node-a' },
  { alertname: 'BitpinVolumeFillingUp', severity: 'warning', namespace: 'bitpin-task', instance: 'node-a' },
  { alertname: 'BitpinVolumeFillingUp', severity: 'warning', namespace: 'bitpin-task', instance: 'node-b' },
  { alertname: 'BitpinSlowQueries', severity: 'info', namespace: 'bitpin-task' },
  // InfoInhibitor silences info alerts in its namespace and never notifies itself.
  { alertname: 'InfoInhibitor', severity: 'none', namespace: 'logging' },
  { alertname: 'BitpinLogVolume', severity: 'info', namespace: 'logging' },
];

function payloads(r: Running, receiver: string): Payload[] {
  return webhook.requests.filter((q) => q.path === `${r.prefix}/${receiver}`).map((q) => JSON.parse(q.body) as Payload);
}

beforeAll(async () => {
  if (describeWithDebian.decision.action !== 'run') return;
  tmp = mkdtempSync(join(tmpdir(), 'bitpin-monitoring-am-'));
  webhook = await recorder(() => ({ body: 'ok' }));
  const args: string[] = find(objs, 'StatefulSet', 'alertmanager').spec.template.spec.containers[0].args;
  for (const [i, release] of [upstream(), requireDebian()].entries()) {
    const dir = join(tmp, `r${i}`);
    mkdirSync(dir, { recursive: true });
    const prefix = `/r${i}`;
    const built = assemble(dir, objs, receiversFragment(`http://127.0.0.1:${webhook.port}${prefix}`), release.amtool);
    if (built.status !== 0) throw new Error(`assemble.sh init failed for ${release.name}: ${built.output}`);
    const port = await freePort();
    const localArgs = args.map((a) =>
      a.startsWith('--config.file=')
        ? `--config.file=${built.out}`
        : a.startsWith('--storage.path=')
          ? `--storage.path=${join(dir, 'data')}`
          : a.startsWith('--web.listen-address=')
            ? `--web.listen-address=127.0.0.1:${port}`
            : a,
    );
    running.push({ release, url: `http://127.0.0.1:${port}`, proc: startProcess(release.alertmanager, localArgs), dir, prefix, amtool: release.amtool });
  }
  for (const r of running) {
    await waitFor(`${r.release.name} ready\n${r.proc.output()}`, async () => ((await fetch(`${r.url}/-/ready`)).ok ? true : undefined), 30_000);
    const res = await fetch(`${r.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ALERTS.map((labels) => ({ labels: { ...labels, env: 'dev' }, annotations: { summary: 'test' }, endsAt: inOneHour() }))),
    });
    if (!res.ok) throw new Error(`POST /api/v2/alerts to ${r.release.name}: ${res.status} ${await res.text()}`);
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(running.flatMap((r) => [r.proc.stop(), r.watcher?.stop()]));
  await webhook?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describeWithDebian.each([0, 1])('a real Alertmanager (release %i: 0 = deployed 0.28.1, 1 = Debian 0.25) from the assembled config', (i) => {
  const r = () => running[i]!;

  it('routes Watchdog at once to the dead man\'s switch receiver', async () => {
    const [p] = await waitFor('a Watchdog notification', async () => payloads(r(), 'watchdog')[0] && payloads(r(), 'watchdog'), 20_000);
    expect(p!.receiver).toBe('watchdog');
    expect(p!.alerts.map((a) => a.labels.alertname)).toEqual(['Watchdog']);
    expect(payloads(r(), 'default').flatMap((x) => x.alerts).some((a) => a.labels.alertname === 'Watchdog')).toBe(false);
  });

  it('routes critical to `critical`; the critical silences the warning of the same target, not of another', async () => {
    const warned = await waitFor(
      'the warning of node-b (after group_wait 30s)',
      async () => payloads(r(), 'warning').find((p) => p.alerts.some((a) => a.labels.instance === 'node-b')),
      60_000,
    );
    expect(warned.alerts.map((a) => a.labels.instance)).toEqual(['node-b']);
    const critical = await waitFor('the critical of node-a', async () => payloads(r(), 'critical')[0], 10_000);
    expect(critical.alerts.map((a) => [a.labels.severity, a.labels.instance])).toEqual([['critical', 'node-a']]);
    const delivered = payloads(r(), 'warning').flatMap((p) => p.alerts);
    expect(delivered.some((a) => a.labels.instance === 'node-a')).toBe(false);
    const api: any[] = await getJson(`${r().url}/api/v2/alerts?filter=${encodeURIComponent('instance="node-a"')}&filter=${encodeURIComponent('severity="warning"')}`);
    expect(api).toHaveLength(1);
    expect(api[0].status.inhibitedBy).toHaveLength(1);
  }, 70_000);

  it('sends info to `default`; InfoInhibitor mutes info in its namespace and never notifies itself', async () => {
    const p = await waitFor('the info notification', async () => payloads(r(), 'default')[0], 60_000);
    expect(p.alerts.map((a) => a.labels.alertname)).toEqual(['BitpinSlowQueries']);
    // Every group has flushed by now (same group_wait); nothing else reached any receiver.
    await new Promise((ok) => setTimeout(ok, 2_000));
    const all = ['default', 'critical', 'warning', 'watchdog'].flatMap((n) => payloads(r(), n)).flatMap((x) => x.alerts);
    expect(all.map((a) => a.labels.alertname)).not.toContain('InfoInhibitor');
    expect(all.map((a) => a.labels.alertname)).not.toContain('BitpinLogVolume');
  }, 70_000);

  it('the config watcher reloads a changed receivers Secret in place, and keeps the running config when the change is invalid', async () => {
    const receivers = join(r().dir, 'receivers.yaml');
    r().watcher = startProcess('sh', [join(r().dir, 'assemble.sh'), 'watch'], {
      env: {
        ROUTING_FILE: join(r().dir, 'routing.yml'),
        RECEIVERS_FILE: receivers,
        CONFIG_FILE: join(r().dir, 'alertmanager.yml'),
        RELOAD_URL: `${r().url}/-/reload`,
        INTERVAL_SECONDS: '1',
        AMTOOL: r().amtool,
      },
    });
    const base = receiversFragment(`http://127.0.0.1:${webhook.port}${r().prefix}`);
    writeFileSync(receivers, `${base}  - name: extra\n`);
    const original = async () => (await getJson(`${r().url}/api/v2/status`)).config.original as string;
    await waitFor(`the watcher to reload the new receiver\n${r().watcher!.output()}`, async () => ((await original()).includes('name: extra') ? true : undefined), 20_000);
    expect(r().watcher!.output()).toMatch(/config changed: reloaded/);

    // An edit that drops a receiver the routing tree uses: rejected, the last good config stays.
    writeFileSync(receivers, 'receivers:\n  - name: default\n');
    await waitFor('the watcher to reject the broken receivers', async () => (r().watcher!.output().includes('keeping the running config') ? true : undefined), 20_000);
    expect(r().watcher!.output()).toMatch(/FAILED: undefined receiver "(watchdog|critical|warning)" used in route/);
    expect(await original()).toMatch(/name: extra/);
    expect((await fetch(`${r().url}/-/healthy`)).ok).toBe(true);
  }, 60_000);
});
