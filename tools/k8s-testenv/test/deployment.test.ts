import { describe, expect, it } from 'vitest';
import { ApiError, hasCondition, waitFor, type KubeObject } from '@bitpin/kube-client';
import { useTestNamespace } from '../src/vitest.js';

// A restricted-compliant workload, as the deployer renders them.
const ns = useTestNamespace({ prefix: 'deployment', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } });

function deployment(namespace: string, replicas: number): KubeObject {
  const labels = { 'app.kubernetes.io/name': 'web' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          // Two replicas must land on two different nodes: needs both kwok nodes.
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' }],
            },
          },
          containers: [
            {
              name: 'web',
              image: 'registry.example/web:1.0.0',
              ports: [{ containerPort: 8080, name: 'http' }],
              resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
            },
          ],
        },
      },
    },
  };
}

describe('Deployment through kwok', () => {
  it('server-side apply → ReplicaSet → Pods Running/Ready on two nodes → Available', async () => {
    const client = ns.client;
    const applied = await client.apply(deployment(ns.name, 2), { fieldManager: 'deployer' });
    expect(applied.metadata.managedFields).toEqual(
      expect.arrayContaining([expect.objectContaining({ manager: 'deployer', operation: 'Apply' })]),
    );

    const rs = await waitFor('ReplicaSet of web', async () => {
      const list = await client.list('apps/v1', 'ReplicaSet', ns.name, { labelSelector: 'app.kubernetes.io/name=web' });
      return list.items.find((r) => r.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.uid === applied.metadata.uid));
    });

    const pods = await waitFor(
      '2 Ready pods',
      async () => {
        const list = await client.list('v1', 'Pod', ns.name, { labelSelector: 'app.kubernetes.io/name=web' });
        const ready = list.items.filter((p) => p.status?.phase === 'Running' && hasCondition(p, 'Ready'));
        return ready.length === 2 ? ready : undefined;
      },
      { timeoutMs: 30_000 },
    );
    for (const p of pods) expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', uid: rs.metadata.uid });
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(2);

    const available = await waitFor(
      'Deployment Available 2/2',
      async () => {
        const d = await client.get('apps/v1', 'Deployment', 'web', ns.name);
        return d.status?.availableReplicas === 2 && d.status?.updatedReplicas === 2 && hasCondition(d, 'Available') ? d : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(available.status.observedGeneration).toBe(available.metadata['generation']);
  }, 60_000);

  it('field managers conflict (409) without force; dry-run changes nothing', async () => {
    const client = ns.client;
    await client.apply(deployment(ns.name, 2), { fieldManager: 'deployer' });
    const err = await client.apply(deployment(ns.name, 3), { fieldManager: 'someone-else', force: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
    expect((err as ApiError).message).toContain('.spec.replicas');

    const dry = await client.apply(deployment(ns.name, 5), { fieldManager: 'deployer', dryRun: true });
    expect(dry.spec.replicas).toBe(5);
    expect((await client.get('apps/v1', 'Deployment', 'web', ns.name)).spec.replicas).toBe(2);
  }, 30_000);
});
