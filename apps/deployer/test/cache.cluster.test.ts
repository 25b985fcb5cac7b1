/**
 * The Redis cache's objects (libs/cache, prod's CacheChart as the platform composes it) on the real API server of the
 * shared local control plane (tools/k8s-testenv), in a namespace of this test with Pod Security
 * `restricted` enforced and the quota the deployer would size for the cache: every object is
 * admitted with strict field validation (the NetworkPolicies, the generated Secret's recipe, the
 * ConfigMap, the Deployment), the namespace's ResourceQuota and LimitRange are admitted, and the
 * Deployment's pod is created by the ReplicaSet controller — past the restricted Pod Security and
 * the quota admission. The namespace is deleted afterwards.
 */
import { NamespaceBudget, type PlatformChart } from '@bitpin/k8s';
import { waitFor, type KubeObject } from '@bitpin/kube-client';
import { App } from 'cdk8s';
import { CacheChart } from '@bitpin/cache';
import { loadEnvConfig, SEED } from '@bitpin/config';
import { describe, expect, it } from 'vitest';

const { useTestNamespace } = await import('@bitpin/k8s-testenv/vitest');
const ns = useTestNamespace({ prefix: 'cache', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } });

/** prod's cache part (CacheChart, as buildPlatform composes it), moved to `namespace`. */
function cacheObjects(namespace: string): KubeObject[] {
  const objects = new CacheChart(new App(), 'cache', { env: loadEnvConfig('prod') }).toJson() as KubeObject[];
  return objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace } }));
}

describe('the Redis cache on the real API server (prod objects)', () => {
  it('admits every object, the quota sized for it, and the pod under restricted Pod Security and the quota', async () => {
    const objects = cacheObjects(ns.name);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/bitpin-redis',
      'Deployment/bitpin-redis',
      'NetworkPolicy/bitpin-redis',
      'NetworkPolicy/bitpin-redis-clients',
      'Secret/bitpin-redis-auth',
      'Service/bitpin-redis',
      'ServiceAccount/bitpin-redis',
    ]);
    // The namespace's budget as the deployer sizes it (NamespaceBudget over the workloads in it).
    const env = loadEnvConfig('prod');
    const chart = new CacheChart(new App(), 'cache', { env }) as PlatformChart;
    new NamespaceBudget(chart, 'Budget', { namespace: ns.name, objects: objects as never });
    const budget = (chart.toJson() as KubeObject[]).filter((o) => o.kind === 'ResourceQuota' || o.kind === 'LimitRange');
    expect(budget.map((o) => o.kind).sort()).toEqual(['LimitRange', 'ResourceQuota']);

    for (const o of [...budget, ...objects]) {
      // The generated Secret is applied as its recipe (the deployer fills in the values; never here).
      await ns.client.apply(o, { fieldManager: 'cache-test' });
    }
    for (const o of objects) {
      const stored = await ns.client.get(o.apiVersion, o.kind, o.metadata.name, ns.name);
      expect(stored.metadata.name).toBe(o.metadata.name);
    }
    const secret = await ns.client.get('v1', 'Secret', SEED.cache.authSecret, ns.name);
    expect((secret as any).data).toBeUndefined();

    // The ReplicaSet controller creates the pod: admitted by Pod Security (restricted) and the quota.
    const pod = await waitFor(
      `a bitpin-redis pod in ${ns.name}`,
      async () => (await ns.client.list('v1', 'Pod', ns.name, { labelSelector: 'app.kubernetes.io/name=bitpin-redis' })).items[0],
      { timeoutMs: 60_000 },
    );
    expect((pod as any).spec.containers.map((c: any) => c.name)).toEqual(['redis', 'redis-exporter']);
    const quota = await ns.client.get('v1', 'ResourceQuota', budget.find((o) => o.kind === 'ResourceQuota')!.metadata.name, ns.name);
    expect(Object.keys((quota as any).status?.used ?? {})).toContain('requests.memory');

    // A pod of the same template that breaks restricted (root) is refused: the check above can fail.
    const template = (objects.find((o) => o.kind === 'Deployment') as any).spec.template;
    const root = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'redis-as-root', namespace: ns.name, labels: template.metadata.labels }, spec: { ...template.spec, securityContext: { ...template.spec.securityContext, runAsNonRoot: false, runAsUser: 0 } } };
    await expect(ns.client.create(root as KubeObject, { dryRun: true })).rejects.toThrow(/violates PodSecurity "restricted/);
  }, 120_000);
});
