import { hasCondition, waitFor, type KubeObject } from '@bitpin/kube-client';
import { describe, expect, it } from 'vitest';
import { CNPG_CLUSTER_STAGE, kwokStagesYaml, STATUS_SIMULATED_ANNOTATION } from '../src/index.js';
import { useTestNamespace } from '../src/vitest.js';

const ns = useTestNamespace({ prefix: 'cnpg-sim' });

interface ClusterStatus {
  phase?: string;
  phaseReason?: string;
  instances?: number;
  readyInstances?: number;
  currentPrimary?: string;
  targetPrimary?: string;
  instanceNames?: string[];
  writeService?: string;
  readService?: string;
  image?: string;
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

function cluster(name: string, instances: number): KubeObject {
  return {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name, namespace: ns.name },
    spec: { instances, imageName: 'ghcr.io/cloudnative-pg/postgresql:15.3', storage: { size: '1Gi' } },
  };
}

async function statusOnce(name: string, ready: (s: ClusterStatus) => boolean): Promise<ClusterStatus> {
  let last: ClusterStatus = {};
  await waitFor(
    `Cluster ${name} status from the kwok stage`,
    async () => {
      last = ((await ns.client.get('postgresql.cnpg.io/v1', 'Cluster', name, ns.name)) as { status?: ClusterStatus }).status ?? {};
      return ready(last);
    },
    { timeoutMs: 20_000 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status ${JSON.stringify(last)} (is the running control plane older than this stage? see TestEnv.outdated)`, { cause: err });
  });
  return last;
}

describe('CloudNativePG status simulated by a kwok stage (no operator runs)', () => {
  it('is part of the stage set kwok is started with', () => {
    expect(kwokStagesYaml()).toContain(CNPG_CLUSTER_STAGE);
  });

  it('the Cluster CRD says its status is simulated, so the deployer waits for Clusters and says so', async () => {
    const crd = await ns.client.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'clusters.postgresql.cnpg.io');
    expect(crd.metadata.annotations?.[STATUS_SIMULATED_ANNOTATION]).toBe('k8s-testenv');
    expect(hasCondition(crd, 'Established')).toBe(true);
  }, 15_000);

  it('a new Cluster gets the status the operator writes for a healthy cluster; scaling it follows', async () => {
    // GIVEN a Cluster of 2 instances, as the deployer applies it
    await ns.client.apply(cluster('pg', 2), { fieldManager: 'deployer' });
    // THEN kwok writes the healthy status the deployer's health check reads
    const st = await statusOnce('pg', (s) => s.readyInstances === 2);
    expect(st).toMatchObject({
      phase: 'Cluster in healthy state',
      instances: 2,
      readyInstances: 2,
      currentPrimary: 'pg-1',
      targetPrimary: 'pg-1',
      instanceNames: ['pg-1', 'pg-2'],
      writeService: 'pg-rw',
      readService: 'pg-r',
      image: 'ghcr.io/cloudnative-pg/postgresql:15.3',
    });
    expect(st.phaseReason).toContain('simulated by k8s-testenv');
    expect(st.conditions).toEqual([expect.objectContaining({ type: 'Ready', status: 'True', reason: 'ClusterIsReady', message: 'Cluster is Ready (simulated by k8s-testenv)' })]);
    // WHEN it is scaled to 3
    await ns.client.apply(cluster('pg', 3), { fieldManager: 'deployer' });
    // THEN the status follows spec.instances
    const scaled = await statusOnce('pg', (s) => s.readyInstances === 3);
    expect(scaled).toMatchObject({ instances: 3, instanceNames: ['pg-1', 'pg-2', 'pg-3'], phase: 'Cluster in healthy state' });
  }, 60_000);
});
