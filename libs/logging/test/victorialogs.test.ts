/**
 * VictoriaLogs as this library configures it, run for real: the victoria-logs binary built from
 * github.com/VictoriaMetrics/VictoriaLogs (scripts/build-victorialogs.sh) started with the flags of
 * the synthesized StatefulSet (only the listen address and the data path replaced).
 */
import { ENV_NAMES, loadEnvConfig, type EnvConfig } from '@bitpin/config';
import { freePort, requireServer, runTool, type Proc } from '@bitpin/test-support';
import { Testing } from 'cdk8s';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LoggingChart, logPushUrl, VICTORIALOGS_LOKI_PUSH_PATH, victoriaLogsArgs } from '../src/index.js';
import { BUILD_SCRIPT, VICTORIA_LOGS, VL_VERSION, binariesBuilt, logsql, rowsAtLeast, startVictoriaLogs, withFlags } from './support/victorialogs.js';

const suite = requireServer('victoria-logs and vlagent', binariesBuilt(), `bash ${BUILD_SCRIPT}`);

const victoriaEnv = (name: string): EnvConfig => loadEnvConfig(name, { overrides: { logging: { backend: 'victorialogs', agent: 'vlagent' } } });

/** The args of the synthesized StatefulSet's container. */
function statefulSetArgs(env: EnvConfig): string[] {
  const objs = Testing.synth(new LoggingChart(Testing.app(), 'logging', { env })) as any[];
  const sts = objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'victorialogs');
  return sts.spec.template.spec.containers[0].args;
}

it('the images run the version the tests build', () => {
  for (const name of ENV_NAMES) {
    const env = loadEnvConfig(name);
    expect(env.images.victorialogs.split(':').pop(), name).toBe(VL_VERSION);
    expect(env.images.vlagent.split(':').pop(), name).toBe(VL_VERSION);
  }
});

suite('VictoriaLogs with the generated flags', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'bitpin-vl-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  suite('Loki push compatibility (what a cluster running Promtail or Alloy sends)', () => {
    let vl: Proc;
    let base: string;
    beforeAll(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      vl = await startVictoriaLogs(withFlags(statefulSetArgs(victoriaEnv('dev')), { httpListenAddr: `127.0.0.1:${port}`, storageDataPath: tmp() }), base);
    });
    afterAll(async () => vl?.stop());

    it("stores a Loki JSON push body with its stream labels as fields, queryable with LogsQL", async () => {
      // GIVEN a push as Promtail's client sends it (JSON form of /loki/api/v1/push), labels from the relabel table
      const ns = `${Date.now()}`;
      const labels = { namespace: 'bitpin-task', pod: `bitpin-app-6d8f9c7b5d-${ns}`, container: 'django', app: 'bitpin-app', node_name: 'node-a', stream: 'stdout' };
      const t0 = BigInt(Date.now()) * 1_000_000n;
      const body = {
        streams: [
          { stream: labels, values: [[String(t0), 'GET /healthz/ 200'], [String(t0 + 1_000_000n), 'POST /api/orders 201']] },
          { stream: { ...labels, stream: 'stderr' }, values: [[String(t0 + 2_000_000n), 'ERROR: order book locked']] },
        ],
      };
      // WHEN it is pushed to the Loki-compatible endpoint
      const r = await fetch(`${base}${VICTORIALOGS_LOKI_PUSH_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status, await r.text()).toBeLessThan(300);
      // THEN every line is there with every label as a field, and the labels are the stream
      const rows = await rowsAtLeast(base, `pod:="${labels.pod}" | sort by (_time)`, 3);
      expect(rows.map((x) => x['_msg'])).toEqual(['GET /healthz/ 200', 'POST /api/orders 201', 'ERROR: order book locked']);
      for (const row of rows) expect(row).toMatchObject({ namespace: 'bitpin-task', pod: labels.pod, container: 'django', app: 'bitpin-app', node_name: 'node-a' });
      expect(rows[2]).toMatchObject({ stream: 'stderr' });
      expect(rows[0]!['_stream']).toContain(`pod="${labels.pod}"`);
      expect(rows[0]!['_stream']).toContain('app="bitpin-app"');
      // and LogQL-like label filters have LogsQL equivalents on those fields
      expect(await logsql(base, `app:="bitpin-app" AND stream:="stderr" AND pod:="${labels.pod}"`)).toHaveLength(1);
    });

    it("takes a JSON line's msg/message as the message through the URL Promtail and Alloy push to (logPushUrl); its keys become fields; a plain line stays the message", async () => {
      // GIVEN the push URL of the agents' generated config, pointed at this VictoriaLogs
      const env = loadEnvConfig('dev', { overrides: { logging: { backend: 'victorialogs', agent: 'promtail' } } });
      const url = new URL(logPushUrl(env));
      expect(url.pathname).toBe(VICTORIALOGS_LOKI_PUSH_PATH);
      expect(url.searchParams.get('_msg_field')).toBe('msg,message,log');
      const pod = `matcher-${Date.now()}`;
      const t0 = BigInt(Date.now()) * 1_000_000n;
      const lines = ['{"level":"error","msg":"order book locked","order":42}', '{"level":"info","message":"matched"}', 'plain text line'];
      // WHEN a Loki JSON push carries JSON and plain lines
      const r = await fetch(`${base}${url.pathname}${url.search}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ streams: [{ stream: { namespace: 'bitpin-task', pod, app: 'matcher' }, values: lines.map((l, i) => [String(t0 + BigInt(i)), l]) }] }),
      });
      expect(r.status, await r.text()).toBeLessThan(300);
      // THEN msg/message are the message, the other keys are fields, the plain line is its own message
      const rows = await rowsAtLeast(base, `pod:="${pod}" | sort by (_time)`, 3);
      expect(rows.map((x) => x['_msg'])).toEqual(['order book locked', 'matched', 'plain text line']);
      expect(rows[0]).toMatchObject({ level: 'error', order: '42', app: 'matcher' });
      expect(rows[1]).toMatchObject({ level: 'info' });
    });

    it('fails a push that is not a Loki push body (400), storing nothing', async () => {
      const r = await fetch(`${base}${VICTORIALOGS_LOKI_PUSH_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"streams": "nope"}' });
      expect(r.status).toBe(400);
    });
  });

  suite('retention', () => {
    it.each(ENV_NAMES)('the real binary accepts the retention flags of env %s (and serves /health)', async (name) => {
      const env = victoriaEnv(name);
      const args = statefulSetArgs(env);
      expect(args).toContain(`-retentionPeriod=${env.logging.victorialogs.retentionPeriod}`);
      expect(args).toContain(`-retention.maxDiskSpaceUsageBytes=${env.logging.victorialogs.maxDiskSpaceUsage}`);
      expect(args).toEqual(victoriaLogsArgs(env));
      const port = await freePort();
      const vl = await startVictoriaLogs(withFlags(args, { httpListenAddr: `127.0.0.1:${port}`, storageDataPath: tmp() }), `http://127.0.0.1:${port}`);
      try {
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(metrics).toMatch(/^vl_free_disk_space_bytes\{/m);
      } finally {
        await vl.stop();
      }
    });

    it.each([
      ['-retentionPeriod', '30m', /invalid value "30m" for flag -retentionPeriod/],
      ['-retention.maxDiskSpaceUsageBytes', '8Gx', /invalid value "8Gx" for flag -retention.maxDiskSpaceUsageBytes/],
    ])('fails to start with a wrong %s (%s)', (flag, value, message) => {
      // GIVEN the generated flags with one retention value broken
      const args = withFlags(statefulSetArgs(victoriaEnv('dev')), { httpListenAddr: '127.0.0.1:0', storageDataPath: tmp(), [flag.slice(1)]: value });
      // WHEN the real binary starts THEN it refuses, naming the flag
      const r = runTool(VICTORIA_LOGS, args, {}, 15_000);
      expect(r.status).not.toBe(0);
      expect(r.output).toMatch(message);
    });
  });
});
