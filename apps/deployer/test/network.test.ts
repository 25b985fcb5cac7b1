/**
 * The flow matrix: which connections the generated NetworkPolicies allow, computed by the
 * Kubernetes rules (libs/k8s/src/network-flows.ts) over every workload of the synthesized env plus
 * the peers outside the platform, compared with the flows the seed needs — exactly, both ways.
 * A missing flow breaks the platform; an extra one is a hole.
 *
 * prod is taken exactly as `synth --env=prod` renders it, and every pod has an address from the
 * env's pod range: ipBlocks match pod IPs, as Calico, Cilium and other CNIs enforce them, so an
 * ipBlock meant for "outside" that covers pods shows up here as the extra flows it allows.
 */
import { ENVIRONMENTS, cidrContains, ipInCidr, loadEnvConfig, nthAddress, type EnvConfigInput } from '@bitpin/config';
import { allowedFlows, endpointsFromObjects, withPodIps, type Endpoint, type Flow } from '@bitpin/k8s';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '@bitpin/kube-client';
import { buildPlatform, run, synthesize, type Io } from '../src/index.js';

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** prod, exactly as `synth --env=prod` renders it. */
const PROD = synthesize('prod');
const NET = PROD.env.features.networkPolicies;
const RANGES = { pods: NET.cluster.podCidrs, services: NET.cluster.serviceCidrs, nodes: NET.cluster.nodeCidrs };

/** An address of `cidr` that lies in none of `avoid` (the n-th host of successive /24s). */
function addressIn(cidr: string, avoid: readonly string[], host = 10): string {
  for (let n = host; ; n += 256) {
    const ip = nthAddress(cidr, n);
    if (!avoid.some((a) => ipInCidr(ip, a))) return ip;
  }
}
/** Where the env says the API server and the nodes are; the internet is outside every range. */
const API = addressIn(NET.apiServer.cidrs[0]!, []);
const NODE = addressIn(RANGES.nodes[0]!, NET.apiServer.cidrs, 5);
const INTERNET = '203.0.113.10';
const POD_RANGE = RANGES.pods[0]!;

const work = mkdtempSync(join(tmpdir(), 'deployer-network-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function objectsOf(overrides: DeepPartial<EnvConfigInput> = {}, env = 'prod'): KubeObject[] {
  const cfg = loadEnvConfig(env, { overrides });
  return buildPlatform(cfg).parts.flatMap((p) => p.chart.toJson() as KubeObject[]);
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
  // The operator's webhook; the ingress controller's HTTP(S) and webhook; metrics-server's secure
  // port (the kubelet's port, on a pod): what an ipBlock meant for "outside" must never reach.
  { id: 'cnpg-system/operator', namespace: 'cnpg-system', labels: { 'app.kubernetes.io/name': 'cloudnative-pg' }, ports: [{ port: 9443, protocol: 'TCP' }] },
  {
    id: 'ingress-nginx/controller',
    namespace: 'ingress-nginx',
    labels: { 'app.kubernetes.io/name': 'ingress-nginx' },
    ports: [{ port: 80, protocol: 'TCP' }, { port: 443, protocol: 'TCP' }, { port: 8443, protocol: 'TCP' }],
  },
  { id: 'kube-system/metrics-server', namespace: 'kube-system', labels: { 'k8s-app': 'metrics-server' }, ports: [{ port: 10250, protocol: 'TCP' }] },
  { id: 'default/other', namespace: 'default', labels: { app: 'other' }, ports: [{ port: 8080, protocol: 'TCP' }] },
  { id: 'apiserver', ip: API, ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }] },
  { id: 'node/kubelet', ip: NODE, ports: [{ port: 10250, protocol: 'TCP' }] },
  { id: 'internet', ip: INTERNET, ports: [{ port: 443, protocol: 'TCP' }, { port: 587, protocol: 'TCP' }] },
];
const OURS = /^(bitpin-task|monitoring|logging)\//;

/**
 * The PgBouncer pods CloudNativePG runs for each Pooler of the manifests (pkg/specs/pgbouncer:
 * labels cnpg.io/cluster, cnpg.io/podRole=pooler, cnpg.io/poolerName; ports pgbouncer 5432 and
 * metrics 9127).
 */
function poolerPods(objects: readonly KubeObject[]): Endpoint[] {
  return (objects as any[])
    .filter((o) => o.kind === 'Pooler' && String(o.apiVersion).startsWith('postgresql.cnpg.io/'))
    .map((o) => ({
      id: `${o.metadata.namespace}/${o.metadata.name}`,
      namespace: o.metadata.namespace,
      labels: { 'cnpg.io/cluster': o.spec.cluster.name, 'cnpg.io/podRole': 'pooler', 'cnpg.io/poolerName': o.metadata.name },
      ports: [
        { port: 5432, name: 'pgbouncer', protocol: 'TCP' as const },
        { port: 9127, name: 'metrics', protocol: 'TCP' as const },
      ],
    }));
}

/** Every workload of the manifests (and the Poolers' pods) and the peers outside them; every pod gets a pod IP. */
function endpointsOf(objects: readonly KubeObject[]): Endpoint[] {
  return withPodIps([...endpointsFromObjects(objects, { nodeIp: NODE }), ...poolerPods(objects), ...EXTERNAL], POD_RANGE);
}

function matrix(objects: readonly KubeObject[]): string[] {
  const endpoints = endpointsOf(objects);
  const ourPods = new Set(endpoints.filter((e) => e.labels && OURS.test(e.id)).map((e) => e.id));
  return allowedFlows(objects, endpoints)
    .filter((f) => ourPods.has(f.from) || ourPods.has(f.to))
    .map(show)
    .sort();
}
const show = (f: Flow) => `${f.from} → ${f.to}:${f.port}${f.protocol === 'TCP' ? '' : `/${f.protocol}`}`;

const APP = 'bitpin-task/bitpin-app';
const DB = 'bitpin-task/bitpin-cluster';
const REDIS = 'bitpin-task/bitpin-redis';
const POOLER_RW = 'bitpin-task/bitpin-cluster-pooler-rw';
const POOLER_RO = 'bitpin-task/bitpin-cluster-pooler-ro';
const WAL_RECEIVER = 'bitpin-task/bitpin-wal-receiver';
const PROM = 'monitoring/prometheus';
const AM = 'monitoring/alertmanager';
const GRAFANA = 'monitoring/grafana';
const KSM = 'monitoring/kube-state-metrics';
const LOKI = 'logging/loki';
const AGENT = 'logging/promtail';
const LOG_GRAFANA = 'logging/grafana';
const OUR_PODS = [
  APP, DB, REDIS, POOLER_RW, POOLER_RO, 'bitpin-task/bitpin-full-backup', 'bitpin-task/bitpin-incremental-backup', 'bitpin-task/bitpin-backup-verify', WAL_RECEIVER,
  PROM, AM, GRAFANA, KSM, LOKI, AGENT, LOG_GRAFANA,
];
/** Sources no policy of ours restricts: the outside world, other namespaces, host-network pods. */
const UNRESTRICTED = [
  'apiserver', 'node/kubelet', 'internet', 'monitoring/node-exporter',
  'kube-system/kube-dns', 'kube-system/metrics-server', 'cnpg-system/operator', 'ingress-nginx/controller', 'default/other',
];
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
    // app → the poolers (PgBouncer) → database; backup jobs that connect → database (the
    // verification job reads only its volume). The app never reaches the database directly.
    ...f(APP, POOLER_RW, 5432),
    ...f(APP, POOLER_RO, 5432),
    ...f(POOLER_RW, DB, 5432),
    ...f(POOLER_RO, DB, 5432),
    ...api(POOLER_RW),
    ...api(POOLER_RO),
    // app → the Redis cache (libs/cache); nothing else reaches it but Prometheus (its exporter), and it opens no connection.
    ...f(APP, REDIS, 6379),
    ...f('bitpin-task/bitpin-full-backup', DB, 5432),
    ...f('bitpin-task/bitpin-incremental-backup', DB, 5432),
    // libs/backup's WAL receiver streams from the database; only Prometheus reaches it (its lag, 9188).
    ...f(WAL_RECEIVER, DB, 5432),
    // The database: replication between instances, the operator, the API server.
    ...f(DB, DB, 5432),
    ...f('cnpg-system/operator', DB, 5432, 8000),
    ...api(DB),
    // Prometheus → every metrics port, the kubelets, node-exporter, the API server; alerts to Alertmanager.
    ...f(PROM, APP, 9102),
    ...f(PROM, DB, 9187),
    ...f(PROM, POOLER_RW, 9127),
    ...f(PROM, POOLER_RO, 9127),
    ...f(PROM, REDIS, 9121),
    ...f(PROM, WAL_RECEIVER, 9188),
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

/** The ipBlocks of the policies that cover an address of the pod or service ranges (after `except`). */
function blocksCoveringCluster(objects: readonly KubeObject[]): string[] {
  const out: string[] = [];
  for (const o of objects.filter((x) => x.kind === 'NetworkPolicy') as any[]) {
    for (const rule of [...(o.spec.ingress ?? []), ...(o.spec.egress ?? [])]) {
      for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])]) {
        if (!peer.ipBlock) continue;
        const { cidr, except = [] } = peer.ipBlock as { cidr: string; except?: string[] };
        for (const range of [...RANGES.pods, ...RANGES.services]) {
          const covered = cidrContains(cidr, range) || cidrContains(range, cidr);
          if (covered && !except.some((e) => cidrContains(e, range))) out.push(`${o.metadata.namespace}/${o.metadata.name}: ${cidr} covers ${range}`);
        }
      }
    }
  }
  return out;
}

/** What the matrix test checks: the flows both ways, and no ipBlock that covers pods or ClusterIPs. */
function problems(objects: readonly KubeObject[], want = intended()) {
  const got = matrix(objects);
  return { missing: want.filter((x) => !got.includes(x)), extra: got.filter((x) => !want.includes(x)), covering: blocksCoveringCluster(objects) };
}
const NONE = { missing: [], extra: [], covering: [] };

/** A copy of the objects with `edit` applied to every ipBlock peer it accepts (returns true). */
function mutateBlocks(objects: readonly KubeObject[], edit: (block: { cidr: string; except?: string[] }, policy: string) => boolean): { objects: KubeObject[]; edited: number } {
  const copy = structuredClone(objects) as any[];
  let edited = 0;
  for (const o of copy.filter((x) => x.kind === 'NetworkPolicy')) {
    for (const rule of [...(o.spec.ingress ?? []), ...(o.spec.egress ?? [])]) {
      for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])]) if (peer.ipBlock && edit(peer.ipBlock, o.metadata.name)) edited++;
    }
  }
  return { objects: copy, edited };
}

describe('network policies: the flow matrix', () => {
  it('prod, as synth --env=prod renders it, with pod IPs: exactly the flows of the seed, nothing more', () => {
    // The addresses come from the env, not from the test: pods in the pod range, the API server
    // and the nodes where the env says, the internet outside every range.
    expect(POD_RANGE).toBe('10.244.0.0/16');
    expect([API, NODE]).toEqual(['10.0.0.10', '10.0.1.5']);
    for (const r of [...RANGES.pods, ...RANGES.services, ...RANGES.nodes]) expect(ipInCidr(INTERNET, r)).toBe(false);
    expect(endpointsOf(PROD.objects).filter((e) => e.labels).every((e) => ipInCidr(e.ip!, POD_RANGE))).toBe(true);
    expect(problems(PROD.objects)).toEqual(NONE);
    expect(matrix(PROD.objects)).toHaveLength(intended().length);
  });

  it('connection pooling: the app reaches only the poolers (5432), only the poolers and the backup jobs the database; the poolers reach the instances and the API server', () => {
    const got = matrix(PROD.objects);
    for (const pooler of [POOLER_RW, POOLER_RO]) {
      expect(got.filter((x) => x.includes(`→ ${pooler}:`))).toEqual([...f(APP, pooler, 5432), ...f(PROM, pooler, 9127)].sort());
      expect(got.filter((x) => x.startsWith(`${pooler} →`))).toEqual([...f(pooler, DB, 5432), ...api(pooler), ...f(pooler, 'kube-system/kube-dns', 53, '53/UDP')].sort());
    }
    // Who reaches PostgreSQL: the poolers, the other instances, the operator — and the pods that carry the
    // database-client label (the backup workloads, whose replication protocol PgBouncer cannot carry); not the app.
    const clients = new Set(endpointsOf(PROD.objects).filter((e) => e.labels?.['bitpin.io/database-client'] === 'true').map((e) => e.id));
    expect(clients.has(APP)).toBe(false);
    expect(got.filter((x) => x.endsWith(`→ ${DB}:5432`) && !clients.has(x.split(' → ')[0]!))).toEqual(
      [...f(POOLER_RW, DB, 5432), ...f(POOLER_RO, DB, 5432), ...f(DB, DB, 5432), ...f('cnpg-system/operator', DB, 5432)].sort(),
    );
    // Without the pooler-client label (its policy gone) the app loses the poolers: the label is what admits it.
    const unlabelled = (PROD.objects as any[]).map((o) =>
      o.kind === 'Deployment' && o.metadata.name === 'bitpin-app'
        ? { ...o, spec: { ...o.spec, template: { ...o.spec.template, metadata: { labels: Object.fromEntries(Object.entries(o.spec.template.metadata.labels).filter(([k]) => k !== 'bitpin.io/database-pooler-client')) } } } }
        : o,
    );
    expect(matrix(unlabelled).filter((x) => x.startsWith(`${APP} →`) && x.includes(':5432'))).toEqual([]);
    // With pooling off (read replicas on) the app goes to the database directly again, and no pooler exists.
    const direct = matrix(objectsOf({ database: { pooler: { enabled: false } } }));
    expect(direct.filter((x) => x.includes('pooler'))).toEqual([]);
    expect(direct.filter((x) => x.startsWith(`${APP} →`) && x.includes(':5432'))).toEqual(f(APP, DB, 5432));
  });

  it('the Redis cache: only the app reaches it (6379), only Prometheus its exporter (9121); it reaches nothing but DNS', () => {
    const got = matrix(PROD.objects);
    expect(got.filter((x) => x.includes(`→ ${REDIS}:`))).toEqual([...f(APP, REDIS, 6379), ...f(PROM, REDIS, 9121)].sort());
    expect(got.filter((x) => x.startsWith(`${REDIS} →`))).toEqual(f(REDIS, 'kube-system/kube-dns', 53, '53/UDP'));
    // Without the cache-client label (its policy gone) the app loses the cache: the label is what admits it.
    const unlabelled = (PROD.objects as any[]).map((o) =>
      o.kind === 'Deployment' && o.metadata.name === 'bitpin-app'
        ? { ...o, spec: { ...o.spec, template: { ...o.spec.template, metadata: { labels: Object.fromEntries(Object.entries(o.spec.template.metadata.labels).filter(([k]) => k !== 'bitpin.io/cache-client')) } } } }
        : o,
    );
    expect(matrix(unlabelled).filter((x) => x.includes(`→ ${REDIS}:6379`))).toEqual([]);
    // With the cache off there is no such pod and no flow to it.
    expect(matrix(objectsOf({ cache: { enabled: false } })).filter((x) => x.includes(REDIS))).toEqual([]);
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
    const objects = PROD.objects;
    const pods = endpointsOf(objects).filter((e) => e.labels);
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

  describe('mutations the matrix test catches', () => {
    it('dropping any one entry of an except list (the receivers: pods, services, nodes)', () => {
      const withExcept = mutateBlocks(PROD.objects, (b) => (b.except?.length ?? 0) > 0);
      expect(withExcept.edited).toBeGreaterThan(0);
      const entries = [...new Set(PROD.objects.flatMap((o: any) => (o.kind === 'NetworkPolicy' ? JSON.stringify(o.spec).match(/"except":\[[^\]]*\]/g) ?? [] : [])))];
      expect(entries).toEqual(['"except":["10.0.0.0/16","10.96.0.0/12","10.244.0.0/16"]']);
      for (const dropped of ['10.0.0.0/16', '10.96.0.0/12', '10.244.0.0/16']) {
        const m = mutateBlocks(PROD.objects, (b) => {
          if (!b.except?.includes(dropped)) return false;
          b.except = b.except.filter((e) => e !== dropped);
          return true;
        });
        expect(m.edited).toBe(1);
        expect(problems(m.objects), `except ${dropped} dropped`).not.toEqual(NONE);
      }
      // Without its pod-range exception, Alertmanager's "internet" reaches every pod listening on 443 or 587.
      const noPods = mutateBlocks(PROD.objects, (b) => !!b.except && !!(b.except = b.except.filter((e) => e !== POD_RANGE)));
      expect(problems(noPods.objects).extra).toEqual([`${AM} → ingress-nginx/controller:443`]);
    });

    it('the API server or the nodes as 0.0.0.0/0 without exceptions, as prod rendered them before', () => {
      const wideApi = mutateBlocks(PROD.objects, (b) => NET.apiServer.cidrs.includes(b.cidr) && !!(b.cidr = '0.0.0.0/0'));
      expect(wideApi.edited).toBe(5); // database, the poolers, Prometheus, kube-state-metrics, the log agent
      // Every caller of the API server then reaches the ingress controller's pods and any machine on 443.
      expect(problems(wideApi.objects).extra).toEqual(
        [DB, POOLER_RW, POOLER_RO, PROM, KSM, AGENT].flatMap((from) => [`${from} → ingress-nginx/controller:443`, `${from} → internet:443`]).sort(),
      );
      const wideNodes = mutateBlocks(PROD.objects, (b) => RANGES.nodes.includes(b.cidr) && !b.except && !!(b.cidr = '0.0.0.0/0'));
      expect(wideNodes.edited).toBe(1);
      expect(problems(wideNodes.objects).extra).toEqual([`${PROM} → kube-system/metrics-server:10250`]);
      // All three as before this change (API server, nodes, receivers: 0.0.0.0/0, no except).
      const before = mutateBlocks(PROD.objects, (b) => {
        b.cidr = '0.0.0.0/0';
        delete b.except;
        return true;
      });
      expect(before.edited).toBe(7);
      const extra = problems(before.objects).extra;
      expect(extra).toEqual(
        [
          ...[DB, POOLER_RW, POOLER_RO, PROM, KSM, AGENT].flatMap((from) => [`${from} → ingress-nginx/controller:443`, `${from} → internet:443`]),
          `${PROM} → kube-system/metrics-server:10250`,
          `${AM} → ingress-nginx/controller:443`,
          ...f(AM, 'apiserver', 443),
        ].sort(),
      );
    });
  });

  it('a wide API server or node block refused: one line naming env, path and fix, exit 2, nothing written', async () => {
    // As if prod's file lost its API server addresses: the seed default (0.0.0.0/0) applies.
    const def = ENVIRONMENTS.find((e) => e.name === 'prod')!;
    const saved = structuredClone(def.overrides.features!.networkPolicies!);
    const out = join(work, 'refused');
    const err: string[] = [];
    const io: Io = { stdout: () => undefined, stderr: (l) => err.push(l) };
    try {
      delete def.overrides.features!.networkPolicies!.apiServer;
      expect(await run(['synth', '--env=prod', '--out', out], io)).toBe(2);
    } finally {
      def.overrides.features!.networkPolicies = saved;
    }
    expect(err).toEqual([
      expect.stringMatching(
        /^error: config error: env "prod" at features\.networkPolicies\.apiServer\.cidrs\.0: 0\.0\.0\.0\/0 is wider than \/8: .* or add features\.networkPolicies\.allowWide\.apiServer with the reason; fix libs\/config\/src\/envs\/prod\.ts$/,
      ),
    ]);
    expect(existsSync(out)).toBe(false);
    expect(synthesize('prod').env.features.networkPolicies.apiServer.cidrs).toEqual(NET.apiServer.cidrs);
  });

  it('envs without the feature get no NetworkPolicy at all', () => {
    for (const env of ['local', 'dev']) {
      expect(objectsOf({}, env).filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    }
  });
});
