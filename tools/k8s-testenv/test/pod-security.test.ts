import { describe, expect, it } from 'vitest';
import { ApiError, type KubeObject } from '@bitpin/kube-client';
import { useTestNamespace } from '../src/vitest.js';

const restricted = useTestNamespace({ prefix: 'psa-restricted', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } });

function pod(namespace: string, name: string, securityContext: Record<string, unknown>, podSecurityContext: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { securityContext: podSecurityContext, containers: [{ name: 'c', image: 'registry.example/app:1.0.0', securityContext }] },
  };
}

describe('PodSecurity admission', () => {
  it('rejects a privileged pod in a namespace labelled enforce=restricted', async () => {
    const err = await restricted.client.create(pod(restricted.name, 'privileged', { privileged: true })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(403);
    expect((err as ApiError).message).toMatch(/violates PodSecurity "restricted:latest".*privileged/);
  }, 15_000);

  it('admits the same pod in an unlabelled namespace (the rejection is PodSecurity, not --allow-privileged)', async () => {
    const open = await restricted.create({ prefix: 'psa-privileged' });
    const created = await restricted.client.create(pod(open, 'privileged', { privileged: true }), { dryRun: true });
    expect(created.spec.containers[0].securityContext.privileged).toBe(true);
  }, 30_000);

  it('admits a restricted-compliant pod in the restricted namespace', async () => {
    const created = await restricted.client.create(
      pod(
        restricted.name,
        'compliant',
        { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      ),
    );
    expect(created.metadata.uid).toBeTruthy();
  }, 15_000);
});
