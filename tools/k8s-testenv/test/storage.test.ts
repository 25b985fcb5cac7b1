import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type KubeObject } from '@bitpin/kube-client';
import { HOSTPATH_PV_DIR, status, STORAGE_CLASS } from '../src/index.js';
import { useTestNamespace } from '../src/vitest.js';

// PVCs and StatefulSets as the deployer renders them (Loki, Prometheus): bound by the real PV
// controller through kube-controller-manager's in-tree hostPath provisioner.
const ns = useTestNamespace({ prefix: 'storage', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } });

interface Pvc extends KubeObject {
  spec: { storageClassName?: string; volumeName?: string; accessModes: string[] };
  status?: { phase?: string };
}
interface Pv extends KubeObject {
  spec: {
    hostPath?: { path: string };
    persistentVolumeReclaimPolicy: string;
    storageClassName: string;
    accessModes: string[];
    claimRef?: { namespace: string; name: string };
  };
  status?: { phase?: string };
}

function pvc(name: string, namespace: string, accessModes = ['ReadWriteOnce']): KubeObject {
  // No storageClassName: the DefaultStorageClass admission plugin fills in `standard`.
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace },
    spec: { accessModes, resources: { requests: { storage: '1Gi' } } },
  };
}

async function bound(name: string): Promise<Pvc> {
  return waitFor(
    `PVC ${ns.name}/${name} Bound`,
    async () => {
      const c = await ns.client.get<Pvc>('v1', 'PersistentVolumeClaim', name, ns.name);
      return c.status?.phase === 'Bound' ? c : undefined;
    },
    { timeoutMs: 20_000 },
  );
}

describe('storage (default StorageClass, hostPath provisioner)', () => {
  beforeAll(async () => {
    const running = await status();
    if (running?.outdated) {
      throw new Error(
        `k8s-testenv: the running control plane predates this launch configuration (${running.outdated}); ` +
          'it is restarted by the next `up` when no other test run holds it',
      );
    }
  });

  it('has the default StorageClass standard (host-path, Delete, Immediate)', async () => {
    const sc = await ns.client.get<KubeObject & Record<string, unknown>>('storage.k8s.io/v1', 'StorageClass', STORAGE_CLASS);
    expect(sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class']).toBe('true');
    expect(sc).toMatchObject({ provisioner: 'kubernetes.io/host-path', reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' });
  });

  let volumeName = '';
  let volumePath = '';

  it('a PVC without a class gets the default class and becomes Bound to a hostPath PV', async () => {
    const created = await ns.client.apply<Pvc>(pvc('data', ns.name));
    expect(created.spec.storageClassName).toBe(STORAGE_CLASS);
    const claim = await bound('data');
    volumeName = claim.spec.volumeName ?? '';
    const pv = await ns.client.get<Pv>('v1', 'PersistentVolume', volumeName);
    expect(pv.status?.phase).toBe('Bound');
    expect(pv.spec).toMatchObject({ persistentVolumeReclaimPolicy: 'Delete', storageClassName: STORAGE_CLASS, accessModes: ['ReadWriteOnce'] });
    expect(pv.spec.claimRef).toMatchObject({ namespace: ns.name, name: 'data' });
    expect(pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by']).toBe('kubernetes.io/host-path');
    volumePath = pv.spec.hostPath?.path ?? '';
    expect(volumePath.startsWith(`${HOSTPATH_PV_DIR}/`)).toBe(true);
    expect(existsSync(volumePath)).toBe(true); // made by kube-controller-manager on this machine
  }, 30_000);

  it('deleting the PVC deletes its PV and the volume directory (reclaimPolicy Delete)', async () => {
    expect(volumeName).not.toBe('');
    await ns.client.delete('v1', 'PersistentVolumeClaim', 'data', ns.name);
    await waitFor(`PV ${volumeName} deleted`, async () => !(await ns.client.tryGet('v1', 'PersistentVolume', volumeName)), { timeoutMs: 20_000 });
    expect(existsSync(volumePath)).toBe(false);
  }, 30_000);

  it('a StatefulSet with a volumeClaimTemplate gets Bound claims and reaches readyReplicas == replicas', async () => {
    const labels = { 'app.kubernetes.io/name': 'db' };
    await ns.client.apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: ns.name, labels },
      spec: {
        replicas: 2,
        serviceName: 'db',
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'db',
                image: 'registry.example/db:1.0.0',
                volumeMounts: [{ name: 'data', mountPath: '/data' }],
                resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
              },
            ],
          },
        },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } } },
        ],
      },
    });
    const sts = await waitFor(
      'StatefulSet db readyReplicas == 2',
      async () => {
        const s = await ns.client.get<KubeObject & { status?: { readyReplicas?: number } }>('apps/v1', 'StatefulSet', 'db', ns.name);
        return s.status?.readyReplicas === 2 ? s : undefined;
      },
      { timeoutMs: 45_000 },
    );
    expect(sts.status?.readyReplicas).toBe(2);
    for (const name of ['data-db-0', 'data-db-1']) {
      const claim = await bound(name);
      expect(claim.spec.storageClassName).toBe(STORAGE_CLASS);
    }
  }, 60_000);

  it('a ReadWriteMany claim binds too (looser than a real cluster: see README)', async () => {
    // The hostPath plugin advertises only ReadWriteOnce, but its provisioner copies the claim's
    // access modes into the PV and nothing mounts it (no kubelet), so the PV controller binds it.
    await ns.client.apply(pvc('shared', ns.name, ['ReadWriteMany']));
    const claim = await bound('shared');
    const pv = await ns.client.get<Pv>('v1', 'PersistentVolume', claim.spec.volumeName ?? '');
    expect(pv.spec.accessModes).toEqual(['ReadWriteMany']);
  }, 30_000);
});
