import { parseQuantity, type EnvConfig } from '@bitpin/config';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import type { PlatformChart } from './chart.js';
import { standardLabels } from './labels.js';

/*
 * ResourceQuota + LimitRange per namespace (`features.resourceQuotas`), sized from the manifests
 * themselves: what the namespace's own workloads need at their peak, times the env's headroom.
 * A quota below that peak would refuse our own rollout or scale-out; one far above caps nothing.
 */

/** What a namespace's workloads need at their peak. CPU in cores, memory and storage in bytes. */
export interface NamespacePeak {
  readonly requestsCpu: number;
  readonly requestsMemory: number;
  readonly limitsMemory: number;
  readonly pods: number;
  readonly persistentVolumeClaims: number;
  readonly storage: number;
  /** The largest single container's memory limit and the largest claim (LimitRange maxima). */
  readonly largestContainerMemory: number;
  readonly largestClaim: number;
}

export interface PeakOptions {
  /** Pods per DaemonSet. */
  readonly maxNodes: number;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are plain JSON here */
const q = (v: unknown): number => (v === undefined || v === null ? 0 : (parseQuantity(String(v)) ?? 0));

interface PodShape {
  cpu: number;
  memory: number;
  limitMemory: number;
  largest: number;
}

/** A pod's effective requests: containers + native sidecars, or the largest plain init container if more. */
function podShape(spec: any): PodShape {
  const res = (c: any) => ({ cpu: q(c.resources?.requests?.cpu), memory: q(c.resources?.requests?.memory), limitMemory: q(c.resources?.limits?.memory) });
  const sidecars = (spec.initContainers ?? []).filter((c: any) => c.restartPolicy === 'Always');
  const inits = (spec.initContainers ?? []).filter((c: any) => c.restartPolicy !== 'Always');
  const main = [...(spec.containers ?? []), ...sidecars].map(res);
  const sum = (k: 'cpu' | 'memory' | 'limitMemory') => main.reduce((a, c) => a + c[k], 0);
  const initMax = (k: 'cpu' | 'memory' | 'limitMemory') => Math.max(0, ...inits.map(res).map((c: any) => c[k] as number));
  const all = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].map(res);
  return {
    cpu: Math.max(sum('cpu'), initMax('cpu')),
    memory: Math.max(sum('memory'), initMax('memory')),
    limitMemory: Math.max(sum('limitMemory'), initMax('limitMemory')),
    largest: Math.max(0, ...all.map((c) => c.limitMemory)),
  };
}

/** Extra pods a Deployment's rolling update adds (maxSurge; 25 % rounded up by default). */
function surge(d: any, replicas: number): number {
  if (d.spec?.strategy?.type === 'Recreate') return 0;
  const s = d.spec?.strategy?.rollingUpdate?.maxSurge ?? '25%';
  return typeof s === 'number' ? s : Math.ceil((replicas * parseInt(String(s), 10)) / 100);
}

/** What the LimitRange of {@link NamespaceBudget} gives a container that states no resources. */
const LIMIT_RANGE_DEFAULTS = { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } } as const;

/** The peak needs of the workloads in `namespace` among `objects` (every chart of the env). */
export function namespacePeak(objects: readonly unknown[], namespace: string, options: PeakOptions): NamespacePeak {
  const objs = (objects as any[]).filter((o) => o.metadata?.namespace === namespace);
  const hpaMax = new Map<string, number>();
  for (const o of objs) {
    if (o.kind === 'HorizontalPodAutoscaler') hpaMax.set(`${o.spec.scaleTargetRef.kind}/${o.spec.scaleTargetRef.name}`, o.spec.maxReplicas);
  }
  let cpu = 0, memory = 0, limitMemory = 0, pods = 0, pvcs = 0, storage = 0, largest = 0, largestClaim = 0;
  const addPods = (n: number, shape: PodShape) => {
    cpu += n * shape.cpu;
    memory += n * shape.memory;
    limitMemory += n * shape.limitMemory;
    pods += n;
    largest = Math.max(largest, shape.largest);
  };
  const addClaims = (n: number, size: number) => {
    pvcs += n;
    storage += n * size;
    largestClaim = Math.max(largestClaim, size);
  };
  for (const o of objs) {
    switch (o.kind) {
      case 'Deployment': {
        const replicas = hpaMax.get(`Deployment/${o.metadata.name}`) ?? o.spec.replicas ?? 1;
        addPods(replicas + surge(o, replicas), podShape(o.spec.template.spec));
        break;
      }
      case 'StatefulSet': {
        const replicas = o.spec.replicas ?? 1;
        addPods(replicas, podShape(o.spec.template.spec));
        for (const t of o.spec.volumeClaimTemplates ?? []) addClaims(replicas, q(t.spec?.resources?.requests?.storage));
        break;
      }
      case 'DaemonSet':
        addPods(options.maxNodes, podShape(o.spec.template.spec));
        break;
      case 'CronJob':
        // concurrencyPolicy Forbid: one run at a time per CronJob; they may all overlap.
        addPods(o.spec.jobTemplate.spec.parallelism ?? 1, podShape(o.spec.jobTemplate.spec.template.spec));
        break;
      case 'Job':
        addPods(o.spec.parallelism ?? 1, podShape(o.spec.template.spec));
        break;
      case 'PersistentVolumeClaim':
        addClaims(1, q(o.spec?.resources?.requests?.storage));
        break;
      case 'Cluster':
        if (String(o.apiVersion).startsWith('postgresql.cnpg.io/')) {
          // CloudNativePG: one pod per instance, plus the join Job's pod while an instance is
          // added (same resources); each instance has a data (and optionally a WAL) volume.
          const shape = podShape({ containers: [{ resources: o.spec.resources ?? {} }] });
          addPods(o.spec.instances + 1, shape);
          addClaims(o.spec.instances, q(o.spec.storage?.size));
          if (o.spec.walStorage) addClaims(o.spec.instances, q(o.spec.walStorage.size));
        }
        break;
      case 'Pooler':
        if (String(o.apiVersion).startsWith('postgresql.cnpg.io/')) {
          // CloudNativePG: a Deployment of `instances` PgBouncer pods (rolling update with the
          // Pooler's strategy). Its init container (bootstrap-controller) gets the pod-level
          // resources, or else this namespace's LimitRange defaults.
          const replicas = o.spec.instances ?? 1;
          const init = { resources: o.spec.template?.spec?.resources ?? LIMIT_RANGE_DEFAULTS };
          addPods(replicas + surge({ spec: { strategy: o.spec.deploymentStrategy } }, replicas), podShape({ containers: o.spec.template?.spec?.containers ?? [], initContainers: [init] }));
        }
        break;
    }
  }
  return { requestsCpu: cpu, requestsMemory: memory, limitsMemory: limitMemory, pods, persistentVolumeClaims: pvcs, storage, largestContainerMemory: largest, largestClaim };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

const MI = 2 ** 20;
const GI = 2 ** 30;
// The API server stores quantities in canonical form (4096Mi → 4Gi, 1000m → 1); rendering them
// that way keeps the live object equal to the manifest, so a re-apply is a no-op.
const cpuQ = (cores: number) => {
  const m = Math.ceil(Math.round(cores * 1e6) / 1000);
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
};
const memQ = (bytes: number) => {
  const mi = Math.ceil(bytes / MI);
  if (mi === 0) return '0';
  return mi % 1024 === 0 ? `${mi / 1024}Gi` : `${mi}Mi`;
};
const storageQ = memQ;

/** The ResourceQuota `hard` for a peak: every figure times the headroom, rounded up. */
export function quotaFor(peak: NamespacePeak, headroom: number): Record<string, string> {
  const h = (n: number) => n * headroom;
  return {
    'requests.cpu': cpuQ(h(peak.requestsCpu)),
    'requests.memory': memQ(h(peak.requestsMemory)),
    'limits.memory': memQ(h(peak.limitsMemory)),
    pods: String(Math.ceil(h(peak.pods))),
    persistentvolumeclaims: String(Math.ceil(h(peak.persistentVolumeClaims))),
    'requests.storage': storageQ(Math.ceil(h(peak.storage) / GI) * GI),
  };
}

export interface NamespaceBudgetProps {
  readonly namespace: string;
  /** The whole env's objects (a namespace's workloads may come from several charts). */
  readonly objects: readonly unknown[];
}

/**
 * ResourceQuota `<namespace>-quota` and LimitRange `<namespace>-limits`. The LimitRange gives
 * containers that state nothing (a debug pod, an operator's Job) a request and a memory limit,
 * never a CPU limit (throttling), and caps one container and one claim at the largest of ours.
 */
export class NamespaceBudget extends Construct {
  readonly peak: NamespacePeak;
  readonly hard: Readonly<Record<string, string>>;

  constructor(scope: PlatformChart, id: string, props: NamespaceBudgetProps) {
    super(scope, id);
    const env: EnvConfig = scope.env;
    const cfg = env.features.resourceQuotas;
    this.peak = namespacePeak(props.objects, props.namespace, { maxNodes: cfg.maxNodes });
    this.hard = quotaFor(this.peak, cfg.headroom);
    const meta = (name: string, description: string) => ({
      name,
      namespace: props.namespace,
      labels: standardLabels(env, { name: props.namespace, component: 'budget' }),
      annotations: { 'bitpin.io/sizing': description },
    });
    const p = this.peak;
    new k8s.KubeResourceQuota(this, 'Quota', {
      metadata: meta(
        `${props.namespace}-quota`,
        `peak of this namespace's workloads (${p.pods} pods, ${cpuQ(p.requestsCpu)} CPU, ${memQ(p.requestsMemory)} memory requested) × ${cfg.headroom}`,
      ),
      spec: { hard: Object.fromEntries(Object.entries(this.hard).map(([k, v]) => [k, k8s.Quantity.fromString(v)])) },
    });
    new k8s.KubeLimitRange(this, 'Limits', {
      metadata: meta(`${props.namespace}-limits`, 'defaults for containers that state no resources; maxima = the largest container and claim of ours'),
      spec: {
        limits: [
          {
            type: 'Container',
            defaultRequest: { cpu: k8s.Quantity.fromString(LIMIT_RANGE_DEFAULTS.requests.cpu), memory: k8s.Quantity.fromString(LIMIT_RANGE_DEFAULTS.requests.memory) },
            default: { memory: k8s.Quantity.fromString(LIMIT_RANGE_DEFAULTS.limits.memory) },
            ...(p.largestContainerMemory > 0 ? { max: { memory: k8s.Quantity.fromString(memQ(Math.max(p.largestContainerMemory, 256 * MI))) } } : {}),
          },
          ...(p.largestClaim > 0 ? [{ type: 'PersistentVolumeClaim', max: { storage: k8s.Quantity.fromString(storageQ(p.largestClaim)) } }] : []),
        ],
      },
    });
  }
}
