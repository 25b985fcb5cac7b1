/**
 * The whole VictoriaLogs pipeline on this machine with real binaries: pods on a kwok node of the
 * shared control plane (tools/k8s-testenv) give the pod metadata; a temp directory laid out like
 * /var/log/pods (and the kubelet's /var/log/containers symlinks into it) holds CRI log files;
 * vlagent runs with the flags of the synthesized DaemonSet, VictoriaLogs with those of the
 * synthesized StatefulSet (paths, addresses and the push URL pointed at the temp dir and
 * 127.0.0.1); the lines are read back with LogsQL over HTTP.
 *
 * vlagent outside a pod takes the kubeconfig (KUBECONFIG) and tails the pods of the first node the
 * API server lists; the pods are put on that node. kwok sets no container IDs, so the test writes
 * them into the pods' status as a kubelet would (vlagent skips containers without one).
 */
import { loadEnvConfig, type EnvConfig } from '@bitpin/config';
import { freePorts, kubeFromConfig, requireServer, startProcess, waitFor, type Kube, type Proc } from '@bitpin/test-support';
import { Testing } from 'cdk8s';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { LoggingChart, VLAGENT_FIELDS } from '../src/index.js';
import { BUILD_SCRIPT, VLAGENT, binariesBuilt, rowsAtLeast, startVictoriaLogs, withFlags, type Row } from './support/victorialogs.js';

const kubeconfigPath = (inject as (k: string) => { kubeconfigPath: string } | undefined)('k8sTestEnv')?.kubeconfigPath ?? process.env['BITPIN_KUBECONFIG'] ?? '';
const suite = requireServer('victoria-logs and vlagent', binariesBuilt(), `bash ${BUILD_SCRIPT}`);

const env: EnvConfig = loadEnvConfig('dev', { overrides: { logging: { backend: 'victorialogs', agent: 'vlagent' } } });
const objs = Testing.synth(new LoggingChart(Testing.app(), 'logging', { env })) as any[];
const argsOf = (kind: string, name: string): string[] => objs.find((o) => o.kind === kind && o.metadata.name === name).spec.template.spec.containers[0].args;

/** Strictly increasing RFC3339Nano times (a line's order is its time: queries sort by _time). */
let lastNs = 0n;
const nowNs = (): bigint => {
  const ns = BigInt(Date.now()) * 1_000_000n;
  lastNs = ns > lastNs ? ns : lastNs + 1n;
  return lastNs;
};
const rfc3339Nano = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString().replace(/\.\d{3}Z$/, `.${String(ns % 1_000_000_000n).padStart(9, '0')}Z`);

/** A CRI log record as containerd writes it: `<RFC3339Nano> <stream> <F|P> <content>`. */
const cri = (content: string, opts: { stream?: 'stdout' | 'stderr'; partial?: boolean } = {}): string =>
  `${rfc3339Nano(nowNs())} ${opts.stream ?? 'stdout'} ${opts.partial ? 'P' : 'F'} ${content}\n`;

interface TestPod {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly container: string;
  uid?: string;
  containerId?: string;
  file?: string;
}

suite('vlagent → VictoriaLogs end to end (generated flags, real control plane)', () => {
  const root = mkdtempSync(join(tmpdir(), 'bitpin-vlagent-'));
  const ns = `logging-e2e-${randomBytes(3).toString('hex')}`;
  const web: TestPod = { name: 'bitpin-app-7c9d8f6b5-x2k4q', labels: { app: 'bitpin-app' }, container: 'django' };
  const worker: TestPod = { name: 'matcher-0', labels: { app: 'matcher', 'app.kubernetes.io/name': 'matcher' }, container: 'engine' };
  let kube: Kube;
  let vl: Proc | undefined;
  let agent: Proc | undefined;
  let base = '';
  const q = (pod: TestPod, extra = '') => `${VLAGENT_FIELDS.namespace}:="${ns}" AND ${VLAGENT_FIELDS.pod}:="${pod.name}" ${extra} | sort by (_time)`;

  beforeAll(async () => {
    if (!kubeconfigPath) throw new Error('no kubeconfig from the k8s-testenv global setup');
    kube = kubeFromConfig(kubeconfigPath);
    // The node vlagent picks outside a cluster: the first one listed.
    const nodes = await kube.call('GET', '/api/v1/nodes');
    const node: string = nodes.body.items[0].metadata.name;

    expect((await kube.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })).status).toBe(201);
    await waitFor('default ServiceAccount', async () => (await kube.call('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200);
    for (const p of [web, worker]) {
      const r = await kube.call('POST', `/api/v1/namespaces/${ns}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p.name, labels: p.labels },
        spec: { nodeName: node, automountServiceAccountToken: false, containers: [{ name: p.container, image: 'registry.invalid/none:1' }] },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      p.uid = r.body.metadata.uid;
      p.containerId = randomBytes(32).toString('hex');
    }
    // kwok marks them Running; then the container IDs go in as a kubelet reports them.
    for (const p of [web, worker]) {
      const path = `/api/v1/namespaces/${ns}/pods/${p.name}`;
      const running = await waitFor(`${p.name} Running`, async () => {
        const r = await kube.call('GET', path);
        return r.body.status?.phase === 'Running' && r.body.status.containerStatuses?.length ? r.body : false;
      }, 60_000);
      running.status.containerStatuses = running.status.containerStatuses.map((c: any) => ({ ...c, containerID: `containerd://${p.containerId}` }));
      const r = await kube.call('PUT', `${path}/status`, running);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }

    // /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log and the kubelet's /var/log/containers symlinks.
    mkdirSync(join(root, 'containers'));
    for (const p of [web, worker]) {
      const dir = join(root, 'pods', `${ns}_${p.name}_${p.uid}`, p.container);
      mkdirSync(dir, { recursive: true });
      p.file = join(dir, '0.log');
      writeFileSync(p.file, '');
      symlinkSync(p.file, join(root, 'containers', `${p.name}_${ns}_${p.container}-${p.containerId}.log`));
    }
    appendFileSync(web.file!, cri('GET /healthz/ 200') + cri('POST /api/orders 201') + cri('WARNING: slow query 1.2s', { stream: 'stderr' }));

    const [vlPort, agentPort] = await freePorts(2);
    base = `http://127.0.0.1:${vlPort}`;
    vl = await startVictoriaLogs(withFlags(argsOf('StatefulSet', 'victorialogs'), { httpListenAddr: `127.0.0.1:${vlPort}`, storageDataPath: join(root, 'vl-data') }), base);
    const agentArgs = withFlags(argsOf('DaemonSet', 'vlagent'), {
      'remoteWrite.url': `${base}/insert/native`,
      httpListenAddr: `127.0.0.1:${agentPort}`,
      tmpDataPath: join(root, 'state/queue'),
      'kubernetesCollector.logsPath': join(root, 'containers'),
      'kubernetesCollector.checkpointsPath': join(root, 'state/checkpoints.json'),
    });
    const clean: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfigPath };
    delete clean['KUBERNETES_SERVICE_HOST'];
    delete clean['KUBERNETES_SERVICE_PORT'];
    agent = startProcess(VLAGENT, agentArgs, { name: 'vlagent', env: clean, cleanEnv: true });
    await waitFor('vlagent /health', async () => {
      if (agent!.child.exitCode !== null) throw new Error(`vlagent exited ${agent!.child.exitCode}: ${agent!.output().slice(-2000)}`);
      return (await fetch(`http://127.0.0.1:${agentPort}/health`).catch(() => undefined))?.ok ?? false;
    }, 30_000);
  });

  afterAll(async () => {
    await agent?.stop();
    await vl?.stop();
    if (kube) await kube.call('DELETE', `/api/v1/namespaces/${ns}`);
    rmSync(root, { recursive: true, force: true });
  });

  const expectPodFields = (rows: Row[], p: TestPod) => {
    for (const row of rows) {
      expect(row).toMatchObject({
        [VLAGENT_FIELDS.namespace]: ns,
        [VLAGENT_FIELDS.pod]: p.name,
        [VLAGENT_FIELDS.container]: p.container,
        [VLAGENT_FIELDS.app]: p.labels['app'],
      });
      expect(row['_stream']).toBe(`{${VLAGENT_FIELDS.container}="${p.container}",${VLAGENT_FIELDS.pod}="${p.name}",${VLAGENT_FIELDS.namespace}="${ns}"}`);
    }
  };

  it('delivers every line, stdout and stderr, with namespace, pod, container and the app label', async () => {
    const rows = await rowsAtLeast(base, q(web), 3);
    expect(rows.map((r) => r['_msg'])).toEqual(['GET /healthz/ 200', 'POST /api/orders 201', 'WARNING: slow query 1.2s']);
    expectPodFields(rows, web);
    // and lines appended while it runs
    appendFileSync(worker.file!, cri('engine started') + cri('{"level":"info","msg":"matched","orders":2}'));
    const w = await rowsAtLeast(base, q(worker), 2);
    expectPodFields(w, worker);
    expect(w[0]!['_msg']).toBe('engine started');
    // a JSON line becomes fields
    expect(w[1]).toMatchObject({ _msg: 'matched', level: 'info', orders: '2', 'kubernetes.pod_labels.app.kubernetes.io/name': 'matcher' });
  });

  it('follows a rotated file: the last lines of 0.log and the lines of the new 0.log, each once', async () => {
    // GIVEN lines already read from 0.log
    appendFileSync(web.file!, cri('before rotation 1') + cri('before rotation 2'));
    await rowsAtLeast(base, q(web, 'AND _msg:"before rotation"'), 2);
    // WHEN the kubelet rotates (last write, rename to 0.log.<timestamp>, a new 0.log) and the container goes on writing
    appendFileSync(web.file!, cri('last line of the old file'));
    renameSync(web.file!, `${web.file!}.20261206-153000`);
    writeFileSync(web.file!, cri('first line of the new file') + cri('second line of the new file'));
    // THEN all of them arrive, none twice, in order
    const rows = await rowsAtLeast(base, q(web, 'AND (_msg:"rotation" OR _msg:"file")'), 5);
    expect(rows.map((r) => r['_msg'])).toEqual([
      'before rotation 1',
      'before rotation 2',
      'last line of the old file',
      'first line of the new file',
      'second line of the new file',
    ]);
    expectPodFields(rows, web);
  });

  it('handles stack traces as configured: a split CRI line is joined, a multi-line trace stays one entry per line in order', async () => {
    // A Python traceback printed to stderr: the runtime writes one CRI record per line.
    const trace = [
      'Traceback (most recent call last):',
      '  File "/app/Exchange/orders.py", line 42, in place',
      '    book.lock()',
      'RuntimeError: order book locked',
    ];
    // One 20 KiB line the runtime split at 16 KiB: P + F records.
    const long = 'x'.repeat(20 * 1024);
    appendFileSync(
      worker.file!,
      trace.map((l) => cri(l, { stream: 'stderr' })).join('') +
        cri(`LONG:${long.slice(0, 16 * 1024)}`, { partial: true }) +
        cri(long.slice(16 * 1024)),
    );
    // vlagent keeps no stdout/stderr field (Promtail's `stream` label has no counterpart).
    const traceRows = await rowsAtLeast(base, q(worker, 'AND NOT _msg:"LONG" AND NOT _msg:"engine" AND NOT _msg:"matched"'), 4);
    expect(traceRows.map((r) => r['_msg'])).toEqual(trace);
    expectPodFields(traceRows, worker);
    const longRows = await rowsAtLeast(base, q(worker, 'AND _msg:"LONG"'), 1);
    expect(longRows).toHaveLength(1);
    expect(longRows[0]!['_msg']).toBe(`LONG:${long}`);
  });
});
