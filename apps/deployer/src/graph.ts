import type { KubeObject } from '@bitpin/kube-client';
import type { V1Container, V1CronJobSpec, V1DeploymentSpec, V1PodTemplateSpec, V1ServiceSpec } from '@kubernetes/client-node';

/**
 * A diagram of the platform derived from the synthesized objects alone: namespaces, workloads,
 * services and PgBouncer Poolers, and three flows — requests (Service → workload; workload → the
 * host its env names: a Pooler, the database's -rw/-ro Service, another Service such as Redis;
 * Pooler → database), metrics
 * (Prometheus → every pod port named like `metrics`) and logs (log agent → Loki, Grafana → its
 * data sources). Nothing is drawn that the objects do not say.
 */
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Cluster', 'Pooler']);
/** The Service CloudNativePG makes for each kind of Pooler (spec.type) and the Cluster's own suffixes. */
const CLUSTER_SERVICES = ['rw', 'ro', 'r'];
/** The port PgBouncer serves on (CloudNativePG's Pooler pods) and exports metrics on. */
const POOLER_PORT = 5432;
const POOLER_METRICS_PORT = 9127;

interface Node {
  id: string;
  label: string;
  ns: string;
  obj: KubeObject;
}

// The objects' specs, typed by their kinds' models from @kubernetes/client-node (types only).
/** The pod template of a workload (a CronJob's sits in its job template; Deployment, StatefulSet and DaemonSet share the shape). */
function podTemplate(o: KubeObject): V1PodTemplateSpec | undefined {
  if (o.kind === 'CronJob') return (o.spec as V1CronJobSpec | undefined)?.jobTemplate?.spec?.template;
  return (o.spec as V1DeploymentSpec | undefined)?.template;
}

function podLabels(o: KubeObject): Record<string, string> {
  if (o.kind === 'Cluster') return { 'cnpg.io/cluster': o.metadata.name };
  return podTemplate(o)?.metadata?.labels ?? {};
}

function containers(o: KubeObject): V1Container[] {
  const spec = podTemplate(o)?.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

const serviceSpec = (o: KubeObject): V1ServiceSpec | undefined => o.spec as V1ServiceSpec | undefined;

const id = (o: KubeObject) => `${o.kind}_${o.metadata.namespace ?? 'cluster'}_${o.metadata.name}`.replace(/[^A-Za-z0-9_]/g, '_');

export function platformGraph(objects: readonly KubeObject[]): string {
  const nodes: Node[] = objects
    .filter((o) => WORKLOADS.has(o.kind) || o.kind === 'Service')
    .filter((o) => !(o.kind === 'Service' && serviceSpec(o)?.clusterIP === 'None'))
    .map((o) => ({
      id: id(o),
      label: `${o.metadata.name}<br/><small>${o.kind}${o.kind === 'Service' ? serviceSuffix(o) : ''}</small>`,
      ns: o.metadata.namespace ?? '',
      obj: o,
    }));
  const edges: string[] = [];
  const workloads = nodes.filter((n) => WORKLOADS.has(n.obj.kind));
  const services = nodes.filter((n) => n.obj.kind === 'Service');

  // Requests: a Service sends to the workloads its selector matches.
  for (const s of services) {
    const sel = serviceSpec(s.obj)?.selector ?? {};
    if (!Object.keys(sel).length) continue;
    for (const w of workloads.filter((x) => x.ns === s.ns)) {
      const labels = podLabels(w.obj);
      if (Object.entries(sel).every(([k, v]) => labels[k] === v)) edges.push(`  ${s.id} --> ${w.id}`);
    }
  }
  // NodePorts: the outside world.
  const nodePorts = services.filter((s) => serviceSpec(s.obj)?.type === 'NodePort');
  if (nodePorts.length) {
    for (const s of nodePorts) {
      const ports = (serviceSpec(s.obj)?.ports ?? []).map((p) => p.nodePort).filter(Boolean).join(', ');
      edges.push(`  users((users)) -->|NodePort ${ports}| ${s.id}`);
    }
  }
  // Hosts a workload's env names (DB_HOST, DB_READ_HOST, PGHOST, REDIS_HOST, …): a Pooler, a
  // Cluster's -rw/-ro/-r Service, or another Service of its namespace.
  const clusters = workloads.filter((w) => w.obj.kind === 'Cluster');
  const poolers = workloads.filter((w) => w.obj.kind === 'Pooler');
  for (const p of poolers) {
    const spec = p.obj.spec as { cluster?: { name?: string }; type?: string } | undefined;
    const c = clusters.find((x) => x.ns === p.ns && x.obj.metadata.name === spec?.cluster?.name);
    if (c) edges.push(`  ${p.id} -->|${c.obj.metadata.name}-${spec?.type ?? 'rw'}:5432| ${c.id}`);
  }
  for (const w of workloads.filter((x) => x.obj.kind !== 'Cluster' && x.obj.kind !== 'Pooler')) {
    const hosts = new Set(containers(w.obj).flatMap((c) => (c.env ?? []).map((e) => e.value).filter((v): v is string => Boolean(v))));
    let database = false;
    for (const p of poolers.filter((x) => x.ns === w.ns && hosts.has(x.obj.metadata.name))) {
      edges.push(`  ${w.id} -->|${p.obj.metadata.name}:${POOLER_PORT}| ${p.id}`);
      database = true;
    }
    for (const c of clusters.filter((x) => x.ns === w.ns)) {
      for (const suffix of CLUSTER_SERVICES.filter((x) => hosts.has(`${c.obj.metadata.name}-${x}`))) {
        edges.push(`  ${w.id} -->|${c.obj.metadata.name}-${suffix}:5432| ${c.id}`);
        database = true;
      }
      // No host in its env but the cluster's app Secret: the credentials' own host (-rw).
      if (!database && JSON.stringify(containers(w.obj)).includes(`"${c.obj.metadata.name}-app"`)) {
        edges.push(`  ${w.id} -->|${c.obj.metadata.name}-rw:5432| ${c.id}`);
      }
    }
    for (const s of services.filter((x) => x.ns === w.ns && hosts.has(x.obj.metadata.name))) {
      const port = serviceSpec(s.obj)?.ports?.[0]?.port;
      edges.push(`  ${w.id} -->|${s.obj.metadata.name}${port ? `:${port}` : ''}| ${s.id}`);
    }
  }
  // Metrics: Prometheus scrapes every workload exposing a port named like metrics.
  const prometheus = workloads.find((w) => w.obj.metadata.name === 'prometheus');
  if (prometheus) {
    for (const w of workloads) {
      if (w === prometheus) continue;
      const ports = containers(w.obj).flatMap((c) => c.ports ?? []);
      const metricsPort = ports.find((p) => /metrics/.test(p.name ?? ''));
      // CloudNativePG's pods export on fixed ports: the instances on 9187, PgBouncer on 9127.
      const fixed = w.obj.kind === 'Cluster' ? 9187 : w.obj.kind === 'Pooler' ? POOLER_METRICS_PORT : undefined;
      if (metricsPort || fixed) edges.push(`  ${prometheus.id} -. "scrape :${metricsPort?.containerPort ?? fixed}" .-> ${w.id}`);
    }
  }
  // Logs and dashboards: URLs in config name the Services a workload reads from or writes to.
  const configText = new Map<string, string>();
  for (const o of objects.filter((x) => x.kind === 'ConfigMap')) configText.set(`${o.metadata.namespace}/${o.metadata.name}`, JSON.stringify(o['data'] ?? {}));
  for (const w of workloads) {
    const vols = (podTemplate(w.obj)?.spec?.volumes ?? [])
      .flatMap((v) => [v.configMap?.name, ...(v.projected?.sources ?? []).map((p) => p.configMap?.name)])
      .filter((n): n is string => Boolean(n));
    const text = vols.map((n) => configText.get(`${w.ns}/${n}`) ?? '').join(' ') + JSON.stringify(containers(w.obj));
    for (const s of services) {
      if (s.ns === w.ns && s.obj.metadata.name === w.obj.metadata.name) continue;
      const host = `${s.obj.metadata.name}.${s.ns}.svc`;
      if (text.includes(`http://${host}`)) {
        const kind = /loki/.test(s.obj.metadata.name) && !/grafana/.test(w.obj.metadata.name) ? 'logs' : 'query';
        edges.push(kind === 'logs' ? `  ${w.id} == "logs" ==> ${s.id}` : `  ${w.id} -. "${kind}" .-> ${s.id}`);
      }
    }
  }

  const lines = ['flowchart LR'];
  const namespaces = [...new Set(nodes.map((n) => n.ns))].sort();
  for (const ns of namespaces) {
    lines.push(`  subgraph ns_${ns.replace(/[^A-Za-z0-9_]/g, '_')}["namespace ${ns}"]`);
    for (const n of nodes.filter((x) => x.ns === ns)) lines.push(`    ${n.id}["${n.label}"]`);
    lines.push('  end');
  }
  lines.push(...[...new Set(edges)]);
  return `${lines.join('\n')}\n`;
}

function serviceSuffix(o: KubeObject): string {
  const ports = (serviceSpec(o)?.ports ?? []).map((p) => String(p.port)).join(',');
  return ` :${ports}`;
}
