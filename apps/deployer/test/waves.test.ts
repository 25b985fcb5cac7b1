/**
 * One apply order: the kind table in src/waves.ts gives both the rank (synth output, deletion in
 * reverse) and the wave (what is stored before what), so the two can never disagree.
 */
import type { KubeObject } from '@bitpin/kube-client';
import { describe, expect, it } from 'vitest';
import { kindRank, sortForApply, synthesize } from '../src/index.js';
import { KIND_ORDER, toWaves, waveOf } from '../src/waves.js';

const obj = (kind: string, name = 'x'): KubeObject => ({ apiVersion: 'v1', kind, metadata: { name } });

describe('kind order', () => {
  it('ranks and waves agree: along the table the wave never goes down', () => {
    const waves = KIND_ORDER.map((k) => waveOf(obj(k)));
    expect(waves).toEqual([...waves].sort((a, b) => a - b));
    expect(KIND_ORDER.map(kindRank)).toEqual(KIND_ORDER.map((_, i) => i));
  });

  it('StorageClass (and IngressClass) go with the cluster-scoped infrastructure, before any claim or ingress', () => {
    expect(waveOf(obj('StorageClass'))).toBe(0);
    expect(waveOf(obj('IngressClass'))).toBe(0);
    expect(waveOf(obj('PersistentVolumeClaim'))).toBeGreaterThan(waveOf(obj('StorageClass')));
    expect(kindRank('StorageClass')).toBeLessThan(kindRank('PersistentVolume'));
    expect(kindRank('IngressClass')).toBeLessThan(kindRank('Ingress'));
  });

  it('PodDisruptionBudget goes with the policies, before the workloads it protects', () => {
    expect(waveOf(obj('PodDisruptionBudget'))).toBe(waveOf(obj('NetworkPolicy')));
    for (const workload of ['Deployment', 'StatefulSet', 'DaemonSet', 'Cluster']) {
      expect(waveOf(obj('PodDisruptionBudget'))).toBeLessThan(waveOf(obj(workload)));
      expect(kindRank('PodDisruptionBudget')).toBeLessThan(kindRank(workload));
    }
  });

  it('a kind not in the table is applied with the workloads, after the known ones, before autoscalers', () => {
    expect(waveOf(obj('Pooler'))).toBe(waveOf(obj('Deployment')));
    expect(kindRank('Pooler')).toBeGreaterThan(kindRank('CronJob'));
    expect(kindRank('Pooler')).toBeLessThan(kindRank('HorizontalPodAutoscaler'));
  });

  it("the synthesized prod env, sorted for apply, is already in wave order", () => {
    const sorted = sortForApply(synthesize('prod').objects);
    expect(toWaves(sorted).flat()).toEqual(sorted);
    const kinds = sorted.map((o) => o.kind);
    expect(kinds.indexOf('PodDisruptionBudget')).toBeLessThan(kinds.indexOf('Deployment'));
  });
});
