import type { KubeObject } from './manifest.js';

/**
 * Apply waves. Inside a wave objects go in parallel; a wave starts when the previous one is
 * stored. 0: namespaces and CRDs (CRDs must be Established before their objects). 1: identity,
 * policy, config, secrets, storage, RBAC, services. 2: workloads. 3: what refers to workloads
 * (autoscalers, disruption budgets, ingresses).
 */
const WAVE_BY_KIND: Record<string, number> = {
  Namespace: 0,
  CustomResourceDefinition: 0,
  PriorityClass: 0,
  StorageClass: 0,
  ServiceAccount: 1,
  Secret: 1,
  ExternalSecret: 1,
  ConfigMap: 1,
  PersistentVolume: 1,
  PersistentVolumeClaim: 1,
  ClusterRole: 1,
  ClusterRoleBinding: 1,
  Role: 1,
  RoleBinding: 1,
  Service: 1,
  NetworkPolicy: 1,
  ResourceQuota: 1,
  LimitRange: 1,
  Deployment: 2,
  StatefulSet: 2,
  DaemonSet: 2,
  Job: 2,
  CronJob: 2,
  Cluster: 2,
  HorizontalPodAutoscaler: 3,
  PodDisruptionBudget: 3,
  Ingress: 3,
};

export const WAVE_NAMES = ['namespaces and CRDs', 'config, identity, storage, services', 'workloads', 'autoscalers and policies'];

export function waveOf(o: Pick<KubeObject, 'kind'>): number {
  return WAVE_BY_KIND[o.kind] ?? 2;
}

export function toWaves<T extends KubeObject>(objects: readonly T[]): T[][] {
  const waves: T[][] = WAVE_NAMES.map(() => []);
  for (const o of objects) waves[waveOf(o)]!.push(o);
  return waves;
}
