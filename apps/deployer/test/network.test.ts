/**
 * The flow matrix: which connections the generated NetworkPolicies allow, computed by the
 * Kubernetes rules (libs/k8s/src/network-flows.ts) over every workload of the synthesized env plus
 * the peers outside the platform, compared with the flows the seed needs — exactly, both ways.
 * A missing flow breaks the platform; an extra one is a hole.
 */
import { loadEnvConfig, type EnvConfigInput } from '@bitpin/config';
import { allowedFlows, endpointsFromObjects, type Endpoint, type Flow } from '@bitpin/k8s';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@bitpin/kube-client';
import { buildPlatform } from '../src/index.js';

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

const API = '10.0.0.1';
const NODE = '10.1.0.5';
const INTERNET = '203.0.113.10';

/** prod, with the peers outside the cluster narrowed to known addresses (as a real env would). */
function objectsOf(overrides: DeepPartial<EnvConfigInput> = {}, env = 'prod'): KubeObject[] {
  const base: DeepPartial<EnvConfigInput> = {
    features: {
      networkPolicies: {
        apiServer: { cidrs: [`${API}/32`], ports: [443, 6443] },
        nodeCidrs: ['10.1.0.0/16'],
        alertReceivers: { cidrs: ['203.0.113.0/24'], ports: [443, 587] },
      },
    },
  };
  const cfg = loadEnvConfig(env, { overrides: merge(base, overrides) });
  return buildPlatform(cfg).parts.flatMap((p) => p.chart.toJson() as KubeObject[]);
}

function merge(a: any, b: any): any {
  if (typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) || Array.isArray(b)) return b ?? a;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
  return out;
}

/** Peers that are not in the manifests: CloudNativePG pods, cluster services, the outside world. */
const EXTERNAL: Endpoint[] = [
  {
    id: 'bitpin-task/bitpin-cluster',
    namespace: 'bitpin-task',
    labels: { 'cnpg.io/cluster': 'bitpin-cluster', 'cnpg.io/podRole': 'instance', 'cnpg.io/instanceRole': 'primary' },
    ports: [
      { port: 5432, name: 'postgresql', protocol: 'TCP' },
      { port: 8000, name: 'status', protocol: 'TCP' },
      { port: 9187, name: 'metrics', protocol: 'TCP' },
    ],
  },
  {
    id: 'kube-system/kube-dns',
    namespace: 'kube-system',
    labels: { 'k8s-app': 'kube-dns' },
    ports: [
      { port: 53, name: 'dns', protocol: 'UDP' },
      { port: 53, name: 'dns-tcp', protocol: 'TCP' },
    ],
  },
  { id: 'cnpg-system/operator', namespace: 'cnpg-system', labels: { 'app.kubernetes.io/name': 'cloudnative-pg' }, ports: [] },
  { id: 'ingress-nginx/controller', namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' }, ports: [] },
  { id: 'default/other', namespace: 'default', labels: { app: 'other' }, ports: [{ port: 8080, protocol: 'TCP' }] },
  { id: 'apiserver', ip: API, ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }] },
  { id: 'node/kubelet', ip: NODE, ports: [{ port: 10250, protocol: 'TCP' }] },
  { id: 'internet', ip: INTERNET, ports: [{ port: 443, protocol: 'TCP' }, { port: 587, protocol: 'TCP' }] },
];
const OURS = /^(bitpin-task|monitoring|logging)\//;

function matrix(objects: KubeObject[]): string[] {
  const endpoints = [...endpointsFromObjects(objects, { nodeIp: NODE }), ...EXTERNAL];
  const ourPods = new Set(endpoints.filter((e) => e.labels && OURS.test(e.id)).map((e) => e.id));
  return allowedFlows(objects, endpoints)
    .filter((f) => ourPods.has(f.from) || ourPods.has(f.to))
    .map(show)
    .sort();
}
const show = (f: Flow) => `${f.from} → ${f.to}:${f.port}${f.protocol === 'TCP' ? '' : `/${f.protocol}`}`;

const APP = 'bitpin-task/bitpin-app';
const DB = 'bitpin-task/bitpin-cluster';
const PROM = 'monitoring/prometheus';
const AM = 'monitoring/alertmanager';
const GRAFANA = 'monitoring/grafana';
const KSM = 'monitoring/kube-state-metrics';
const LOKI = 'logging/loki';
const AGENT = 'logging/promtail';
const LOG_GRAFANA = 'logging/grafana';
const OUR_PODS = [
  APP, DB, 'bitpin-task/bitpin-full-backup', 'bitpin-task/bitpin-incremental-backup', 'bitpin-task/bitpin-backup-verify',
  PROM, AM, GRAFANA, KSM, LOKI, AGENT, LOG_GRAFANA,
];
/** Sources no policy of ours restricts: the outside world, other namespaces, host-network pods. */
const UNRESTRICTED = ['apiserver', 'node/kubelet', 'internet', 'monitoring/node-exporter', 'kube-system/kube-dns', 'cnpg-system/operator', 'ingress-nginx/controller', 'default/other'];
const f = (from: string, to: string, ...ports: (number | string)[]) => ports.map((p) => `${from} → ${to}:${p}`);
const fromAnyone = (to: string, port: number) => UNRESTRICTED.flatMap((s) => f(s, to, port));
const api = (from: string) => f(from, 'apiserver', 443, 6443);

/** The flows of the seed (prod: sidecar proxy mode, separate logging Grafana, NodePort entry). */
function intended(publicApp: string[] = fromAnyone(APP, 8080)): string[] {
  return [
    // DNS for every pod of ours.
    ...OUR_PODS.flatMap((p) => f(p, 'kube-system/kube-dns', 53, '53/UDP')),
    // Clients → app (NodePort 30505 → bitpin-app-svc → the sidecar's :8080).
    ...publicApp,
    // app → database; backup jobs that connect → database (the verification job reads only its volume).
    ...f(APP, DB, 5432),
    ...f('bitpin-task/bitpin-full-backup', DB, 5432),
    ...f('bitpin-task/bitpin-incremental-backup', DB, 5432),
    // The database: replication between instances, the operator, the API server.
    ...f(DB, DB, 5432),
    ...f('cnpg-system/operator', DB, 5432, 8000),
    ...api(DB),
    // Prometheus → every metrics port, the kubelets, node-exporter, the API server; alerts to Alertmanager.
    ...f(PROM, APP, 9102),
    ...f(PROM, DB, 9187),
    ...f(PROM, PROM, 9090),
    ...f(PROM, AM, 9093),
    ...f(PROM, KSM, 8080, 8081),
    ...f(PROM, GRAFANA, 3000),
    ...f(PROM, LOKI, 3100),
    ...f(PROM, AGENT, 3101),
    ...f(PROM, LOG_GRAFANA, 3000),
    ...f(PROM, 'node/kubelet', 10250),
    ...f(PROM, 'monitoring/node-exporter', 9100),
    ...api(PROM),
    // Alertmanager: gossip between replicas, notifications out.
    ...f(AM, AM, 9094, '9094/UDP'),
    ...f(AM, 'internet', 443, 587),
    // Grafana → Prometheus, Alertmanager, Loki; people → Grafana (both).
    ...f(GRAFANA, PROM, 9090),
    ...f(GRAFANA, AM, 9093),
    ...f(GRAFANA, LOKI, 3100),
    ...fromAnyone(GRAFANA, 3000),
    ...f(LOG_GRAFANA, LOKI, 3100),
    ...fromAnyone(LOG_GRAFANA, 3000),
    // kube-state-metrics reads the API server.
    ...api(KSM),
    // The log agent → Loki and the API server.
    ...f(AGENT, LOKI, 3100),
    ...api(AGENT),
  ].sort();
}

describe('network policies: the flow matrix', () => {
  it('prod allows exactly the flows of the seed, nothing more', () => {
    const got = matrix(objectsOf());
    const want = intended();
    expect({ missing: want.filter((x) => !got.includes(x)), extra: got.filter((x) => !want.includes(x)) }).toEqual({ missing: [], extra: [] });
  });

  it('with Ingress + TLS on, only the ingress controller reaches the app', () => {
    const got = matrix(objectsOf({ features: { ingress: { enabled: true, host: 'exchange.example.com', tlsSecretName: 'exchange-tls' } } }));
    expect(got).toEqual(intended(f('ingress-nginx/controller', APP, 8080)));
  });

  it('in observe mode clients reach Django (:8000) directly, and the sidecar port is closed', () => {
    const got = matrix(objectsOf({ app: { sidecar: { mode: 'observe' } } }));
    expect(got.filter((x) => x.includes(`→ ${APP}:`))).toEqual(
      [...fromAnyone(APP, 8000), ...f(PROM, APP, 9102)].sort(),
    );
  });

  it('every policy selects pods that exist, and every pod selector in a rule matches one', () => {
    const objects = objectsOf();
    const endpoints = [...endpointsFromObjects(objects, { nodeIp: NODE }), ...EXTERNAL];
    const pods = endpoints.filter((e) => e.labels);
    const sel = (s: any, labels: Record<string, string>) => Object.entries(s?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as any[];
    expect(policies.length).toBeGreaterThan(10);
    for (const p of policies) {
      const selected = pods.filter((e) => e.namespace === p.metadata.namespace && sel(p.spec.podSelector, e.labels!));
      expect(selected.length, `NetworkPolicy ${p.metadata.namespace}/${p.metadata.name} selects no pod`).toBeGreaterThan(0);
      for (const rule of [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])]) {
        for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])].filter((x: any) => x.podSelector)) {
          const hit = pods.some((e) => sel(peer.podSelector, e.labels!));
          expect(hit, `NetworkPolicy ${p.metadata.name}: peer ${JSON.stringify(peer.podSelector)} matches no pod`).toBe(true);
        }
      }
    }
  });

  it('the default peer addresses (anywhere) allow a superset of the narrowed flows', () => {
    const narrowed = matrix(objectsOf());
    const cfg = loadEnvConfig('prod');
    const wide = matrix(buildPlatform(cfg).parts.flatMap((p) => p.chart.toJson() as KubeObject[]));
    expect(narrowed.filter((x) => !wide.includes(x))).toEqual([]);
    // What "anywhere" adds is only on the API server's, the nodes' and the receivers' ports.
    const added = wide.filter((x) => !narrowed.includes(x)).map((x) => Number(x.split(':').at(-1)));
    expect(added.length).toBeGreaterThan(0);
    expect([...new Set(added)].filter((p) => ![443, 587, 6443, 9100, 10250].includes(p))).toEqual([]);
  });

  it('envs without the feature get no NetworkPolicy at all', () => {
    for (const env of ['local', 'dev']) {
      expect(objectsOf({}, env).filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    }
  });
});
