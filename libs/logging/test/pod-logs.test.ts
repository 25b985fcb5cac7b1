/**
 * From pod metadata to log files and stream labels, run by the code Promtail runs for it:
 * tools/relabel-check links Prometheus' relabel package and doublestar at the versions Promtail
 * 3.5.3 links and repeats Promtail's target-manager steps. The config is the one in the
 * synthesized ConfigMap; only the /var/log/pods prefix is rewritten to a temp directory laid out
 * like /var/log/pods, and the Kubernetes discovery is replaced by the targets it would produce.
 */
import { ENV_NAMES, loadEnvConfig } from '@bitpin/config';
import { Testing } from 'cdk8s';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoggingChart, POD_LOGS_DIR, PROMTAIL_POD_JOB } from '../src/index.js';

const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = 'libs/logging/scripts/build-relabel-check.sh';

function relabelCheckBin(): string {
  const r = spawnSync('bash', [join(LIB, 'scripts/build-relabel-check.sh'), '--print-bin'], { encoding: 'utf8' });
  const bin = r.stdout.trim();
  if (r.status !== 0 || !bin || !existsSync(bin)) throw new Error(`relabel-check is not built: run ${BUILD}`);
  return bin;
}

interface CheckResult {
  kept: boolean;
  reason?: string;
  labels?: Record<string, string>;
  path?: string;
  files: string[];
}

function runCheck(bin: string, input: object): { status: number | null; results: CheckResult[]; stderr: string } {
  const r = spawnSync(bin, [], { input: JSON.stringify(input), encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stderr: r.stderr, results: r.status === 0 ? (JSON.parse(r.stdout) as { results: CheckResult[] }).results : [] };
}

/** The meta labels Prometheus' Kubernetes pod discovery gives one container of a pod. */
function podTarget(p: { ns: string; pod: string; uid: string; container: string; node: string; labels?: Record<string, string>; controller?: string; annotations?: Record<string, string> }) {
  const sanitize = (k: string) => k.replace(/[^a-zA-Z0-9_]/g, '_');
  const t: Record<string, string> = {
    __address__: '10.0.0.12',
    __meta_kubernetes_namespace: p.ns,
    __meta_kubernetes_pod_name: p.pod,
    __meta_kubernetes_pod_uid: p.uid,
    __meta_kubernetes_pod_container_name: p.container,
    __meta_kubernetes_pod_container_init: 'false',
    __meta_kubernetes_pod_node_name: p.node,
    __meta_kubernetes_pod_phase: 'Running',
  };
  if (p.controller) {
    t['__meta_kubernetes_pod_controller_kind'] = 'ReplicaSet';
    t['__meta_kubernetes_pod_controller_name'] = p.controller;
  }
  for (const [k, v] of Object.entries(p.labels ?? {})) {
    t[`__meta_kubernetes_pod_label_${sanitize(k)}`] = v;
    t[`__meta_kubernetes_pod_labelpresent_${sanitize(k)}`] = 'true';
  }
  for (const [k, v] of Object.entries(p.annotations ?? {})) {
    t[`__meta_kubernetes_pod_annotation_${sanitize(k)}`] = v;
    t[`__meta_kubernetes_pod_annotationpresent_${sanitize(k)}`] = 'true';
  }
  return t;
}

/**
 * The Prometheus version each deployed Promtail tag links (github.com/grafana/loki/v3 go.mod at
 * that tag). Bumping images.promtail means adding its row and moving tools/relabel-check/go.mod.
 */
const PROMTAIL_LINKS_PROMETHEUS: Record<string, string> = { '3.5.3': 'v0.302.1' };

describe('relabel-check links what the deployed Promtail links', () => {
  it('the Prometheus version in tools/relabel-check/go.mod is the one of images.promtail', () => {
    for (const envName of ENV_NAMES) {
      const tag = loadEnvConfig(envName).images.promtail.split(':').pop()!;
      const goMod = readFileSync(join(LIB, 'tools/relabel-check/go.mod'), 'utf8');
      expect(PROMTAIL_LINKS_PROMETHEUS[tag], `no entry for promtail ${tag}`).toBeDefined();
      expect(goMod).toMatch(new RegExp(`^\\s+github.com/prometheus/prometheus ${PROMTAIL_LINKS_PROMETHEUS[tag]}$`, 'm'));
    }
  });
});

describe('Promtail turns pod metadata into log files and labels (real relabel code)', () => {
  let bin: string;
  let root: string;
  let podsDir: string;
  let config: string;
  const env = loadEnvConfig('prod');
  const APP_UID = '3f1c2b8e-1d2a-4c5b-9e8f-0a1b2c3d4e5f';
  const CONFIG_HASH = '9c1b6a0e4b2f3d7a8c5e6f1a2b3c4d5e';

  beforeAll(() => {
    bin = relabelCheckBin();
    root = mkdtempSync(join(tmpdir(), 'bitpin-logging-'));
    podsDir = join(root, 'var/log/pods');
    const write = (dir: string, container: string, restart: number, lines: string[]) => {
      mkdirSync(join(podsDir, dir, container), { recursive: true });
      writeFileSync(join(podsDir, dir, container, `${restart}.log`), lines.map((l) => `2026-11-26T06:00:00.000000000Z stdout F ${l}\n`).join(''));
    };
    write(`bitpin-task_bitpin-app-5d8f7c9b6d-x7k2p_${APP_UID}`, 'django', 0, ['GET /healthz/ 200']);
    write(`bitpin-task_bitpin-app-5d8f7c9b6d-x7k2p_${APP_UID}`, 'django', 1, ['restarted']);
    write(`bitpin-task_bitpin-app-5d8f7c9b6d-x7k2p_${APP_UID}`, 'metrics-sidecar', 0, ['listening']);
    write(`kube-system_kube-apiserver-node-a_${CONFIG_HASH}`, 'kube-apiserver', 0, ['serving']);
    write('logging_loki-0_0b7e3c1a-aaaa-bbbb-cccc-000000000000', 'loki', 0, ['level=info msg=ready']);
    // The ConfigMap as deployed.
    const objs = Testing.synth(new LoggingChart(Testing.app(), 'logging', { env })) as any[];
    config = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'promtail').data['promtail.yaml'];
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const check = (targets: Record<string, string>[]) =>
    runCheck(bin, { config, job: PROMTAIL_POD_JOB, hostname: 'node-a', rewrite: { from: POD_LOGS_DIR, to: podsDir }, targets });

  it('tails every restart file of bitpin-app/django, labelled namespace, pod, container, app', () => {
    // GIVEN the Django container of the seed's app pod on this node
    const target = podTarget({
      ns: 'bitpin-task',
      pod: 'bitpin-app-5d8f7c9b6d-x7k2p',
      uid: APP_UID,
      container: 'django',
      node: 'node-a',
      controller: 'bitpin-app-5d8f7c9b6d',
      labels: { app: 'bitpin-app', 'app.kubernetes.io/name': 'bitpin-app', 'pod-template-hash': '5d8f7c9b6d' },
    });
    // WHEN Promtail's relabeling runs
    const { status, results, stderr } = check([target]);
    // THEN exactly the django files are tailed with the expected labels
    expect(status, stderr).toBe(0);
    expect(results[0]).toEqual({
      kept: true,
      labels: { namespace: 'bitpin-task', pod: 'bitpin-app-5d8f7c9b6d-x7k2p', container: 'django', app: 'bitpin-app', node_name: 'node-a' },
      path: `/var/log/pods/*${APP_UID}/django/*.log`,
      files: [0, 1].map((n) => join(podsDir, `bitpin-task_bitpin-app-5d8f7c9b6d-x7k2p_${APP_UID}`, 'django', `${n}.log`)),
    });
  });

  it('falls back to app.kubernetes.io/name, then the controller without its hash, for app', () => {
    const base = { ns: 'logging', pod: 'loki-0', uid: '0b7e3c1a-aaaa-bbbb-cccc-000000000000', container: 'loki', node: 'node-a' };
    const { results } = check([
      podTarget({ ...base, labels: { 'app.kubernetes.io/name': 'loki' } }),
      podTarget({ ...base, controller: 'web-7c9d8b6f5d' }),
      podTarget(base),
    ]);
    expect(results.map((r) => r.labels?.['app'])).toEqual(['loki', 'web', 'loki-0']);
    expect(results[0]!.files).toEqual([join(podsDir, 'logging_loki-0_0b7e3c1a-aaaa-bbbb-cccc-000000000000', 'loki', '0.log')]);
  });

  it('finds a static pod by its config hash, not its mirror uid', () => {
    const { results } = check([
      podTarget({
        ns: 'kube-system',
        pod: 'kube-apiserver-node-a',
        uid: 'mirror-uid-differs',
        container: 'kube-apiserver',
        node: 'node-a',
        annotations: { 'kubernetes.io/config.hash': CONFIG_HASH, 'kubernetes.io/config.mirror': CONFIG_HASH },
      }),
    ]);
    expect(results[0]).toMatchObject({ kept: true, labels: { namespace: 'kube-system', container: 'kube-apiserver', app: 'kube-apiserver-node-a' } });
    expect(results[0]!.files).toEqual([join(podsDir, `kube-system_kube-apiserver-node-a_${CONFIG_HASH}`, 'kube-apiserver', '0.log')]);
  });

  it("ignores another node's pods (the __host__ guard behind the field selector)", () => {
    const { results } = check([podTarget({ ns: 'bitpin-task', pod: 'p', uid: 'u', container: 'c', node: 'node-b' })]);
    expect(results[0]).toEqual({ kept: false, reason: 'wrong host node-b', files: [] });
  });

  it('fails when the relabel config is invalid (the checker runs Prometheus validation)', () => {
    // GIVEN a replace rule without target_label, which Prometheus rejects
    const bad = 'scrape_configs:\n- job_name: kubernetes-pods\n  relabel_configs:\n  - source_labels: [a]\n    action: replace\n';
    // WHEN / THEN relabel-check refuses it with Prometheus' own message
    const r = runCheck(bin, { config: bad, job: PROMTAIL_POD_JOB, hostname: 'node-a', targets: [] });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/requires 'target_label'/);
  });
});
