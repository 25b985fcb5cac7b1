import { loadEnvConfig } from '@bitpin/config';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { NamespaceBudget, PlatformChart, namespacePeak, quotaFor } from '../src/index.js';

const ns = 'bitpin-task';
const c = (cpu: string, memory: string, limit: string, extra: object = {}) => ({ name: 'c', resources: { requests: { cpu, memory }, limits: { memory: limit } }, ...extra });
const MI = 2 ** 20;
const GI = 2 ** 30;

const objects = [
  // 3 replicas, but an HPA may take it to 10; maxSurge 1 → 11 pods of (500m + 50m sidecar).
  {
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: {
      replicas: 3,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: { spec: { initContainers: [c('50m', '64Mi', '128Mi', { restartPolicy: 'Always' }), c('2', '2Gi', '2Gi')], containers: [c('500m', '512Mi', '1Gi')] } },
    },
  },
  { kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: ns }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 10 } },
  // Default surge 25 % of 2 → 1.
  { kind: 'Deployment', metadata: { name: 'small', namespace: ns }, spec: { replicas: 2, template: { spec: { containers: [c('100m', '100Mi', '200Mi')] } } } },
  { kind: 'CronJob', metadata: { name: 'job', namespace: ns }, spec: { jobTemplate: { spec: { template: { spec: { containers: [c('250m', '256Mi', '1Gi')] } } } } } },
  { kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: ns }, spec: { resources: { requests: { storage: '100Gi' } } } },
  {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name: 'db', namespace: ns },
    spec: { instances: 2, resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '4Gi' } }, storage: { size: '5Gi' }, walStorage: { size: '1Gi' } },
  },
  { kind: 'DaemonSet', metadata: { name: 'elsewhere', namespace: 'other' }, spec: { template: { spec: { containers: [c('1', '1Gi', '1Gi')] } } } },
];

describe('namespace budgets', () => {
  it('sizes the peak from HPA maxima, rollout surge, native sidecars, Jobs, claims and CloudNativePG instances', () => {
    const p = namespacePeak(objects, ns, { maxNodes: 5 });
    // web 11 × 0.55 (the 2-CPU plain init container runs alone, before the others: 2 > 0.55 → 2),
    // small 3 × 0.1, job 0.25, db 3 × 1.
    expect(p.pods).toBe(11 + 3 + 1 + 3);
    expect(p.requestsCpu).toBeCloseTo(11 * 2 + 3 * 0.1 + 0.25 + 3 * 1, 6);
    expect(p.requestsMemory).toBe(11 * 2 * GI + 3 * 100 * MI + 256 * MI + 3 * 2 * GI);
    expect(p.limitsMemory).toBe(11 * 2 * GI + 3 * 200 * MI + 1 * GI + 3 * 4 * GI);
    expect(p.persistentVolumeClaims).toBe(1 + 2 + 2);
    expect(p.storage).toBe(100 * GI + 2 * 5 * GI + 2 * GI);
    expect(p.largestContainerMemory).toBe(4 * GI);
    expect(p.largestClaim).toBe(100 * GI);
  });

  it('counts a CloudNativePG Pooler as its PgBouncer Deployment: instances + surge, the init container at the LimitRange defaults', () => {
    // GIVEN a Pooler of 2 PgBouncer pods (50m/64Mi, limit 128Mi), maxSurge 1
    const pooler = {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Pooler',
      metadata: { name: 'db-pooler-rw', namespace: 'pool' },
      spec: {
        instances: 2,
        deploymentStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: { spec: { containers: [{ name: 'pgbouncer', resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } } }] } },
      },
    };
    // THEN 3 pods; the bootstrap-controller init container has no resources of its own, so the
    // LimitRange's default limit (256Mi) is what each pod may hold while it runs.
    const p = namespacePeak([pooler], 'pool', { maxNodes: 5 });
    expect(p).toMatchObject({ pods: 3, requestsMemory: 3 * 64 * MI, limitsMemory: 3 * 256 * MI, largestContainerMemory: 256 * MI });
    expect(p.requestsCpu).toBeCloseTo(3 * 0.05, 6);
  });

  it('counts one DaemonSet pod per node', () => {
    expect(namespacePeak(objects, 'other', { maxNodes: 5 })).toMatchObject({ pods: 5, requestsCpu: 5 });
  });

  it('the quota is the peak times the headroom, rounded up', () => {
    const hard = quotaFor({ requestsCpu: 1.05, requestsMemory: 1000 * MI, limitsMemory: 2 * GI, pods: 7, persistentVolumeClaims: 3, storage: 10.5 * GI, largestContainerMemory: 0, largestClaim: 0 }, 1.25);
    expect(hard).toEqual({
      'requests.cpu': '1313m',
      'requests.memory': '1250Mi',
      'limits.memory': '2560Mi',
      pods: '9',
      persistentvolumeclaims: '4',
      'requests.storage': '14Gi',
    });
  });

  it('renders quantities in the canonical form the API server stores (so a re-apply is a no-op)', () => {
    const hard = quotaFor({ requestsCpu: 0.8, requestsMemory: 3276.8 * MI, limitsMemory: 1 * GI, pods: 1, persistentVolumeClaims: 0, storage: 0, largestContainerMemory: 0, largestClaim: 0 }, 1.25);
    expect(hard).toMatchObject({ 'requests.cpu': '1', 'requests.memory': '4Gi', 'limits.memory': '1280Mi', 'requests.storage': '0' });
  });

  it('renders a ResourceQuota and a LimitRange that never sets a CPU limit', () => {
    const env = loadEnvConfig('prod');
    const chart = new PlatformChart(Testing.app(), 'T', { env });
    new NamespaceBudget(chart, 'B', { namespace: ns, objects });
    const [quota, limits] = Testing.synth(chart);
    expect(quota.kind).toBe('ResourceQuota');
    expect(quota.metadata.name).toBe('bitpin-task-quota');
    expect(quota.spec.hard.pods).toBe(String(Math.ceil(18 * env.features.resourceQuotas.headroom)));
    expect(limits.kind).toBe('LimitRange');
    const container = limits.spec.limits.find((l: any) => l.type === 'Container');
    expect(container.default).toEqual({ memory: '256Mi' });
    expect(container.max).toEqual({ memory: '4Gi' });
    expect(limits.spec.limits.find((l: any) => l.type === 'PersistentVolumeClaim').max).toEqual({ storage: '100Gi' });
  });
});
