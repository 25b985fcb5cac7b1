import type { KubeObject } from '@bitpin/kube-client';

/**
 * The one apply order: every known kind's wave and, inside the table, its rank. Waves go one
 * after another (a wave starts when the previous one is stored; inside a wave objects go in
 * parallel); the rank orders synth output and deletion (the reverse). It follows Helm's
 * InstallOrder (helm pkg/releaseutil/kind_sorter.go) and kapp's change groups (carvel-dev/kapp
 * pkg/kapp/diffgraph), condensed:
 *
 * 0. Cluster-scoped infrastructure that others are created in or name: namespaces, CRDs (which
 *    must be Established before their objects), PriorityClass, and the classes — StorageClass
 *    before any claim (kapp: "StorageClass, then PV/PVC"; a claim naming a class that does not
 *    exist yet sits Pending with a ProvisioningFailed event), IngressClass before any Ingress.
 * 1. Policy, identity, config, storage, RBAC, services. PodDisruptionBudget goes here, with the
 *    policies, before the workloads it protects — as in Helm's InstallOrder and kapp's
 *    "pod-related" group: a PDB selects pods by label and is valid with none yet, so applied
 *    first it guards the pods against voluntary disruptions (a node drain) from the moment they
 *    exist; applied after them, a drain during the rollout could evict every replica. On delete
 *    (reverse order) it goes after the workloads, so it protects them until they are gone.
 * 2. Workloads (a CloudNativePG Cluster is one: its operator runs the pods). Kinds not in the
 *    table go here, after the known workloads: a custom resource is most often one too, and
 *    what refers to workloads (wave 3) may name it.
 * 3. What refers to workloads by name: autoscalers (an HPA targeting a missing Deployment
 *    reports FailedGetScale) and ingresses (their backends are Services of workloads).
 */
const KINDS: readonly (readonly [kind: string, wave: number])[] = [
  ['Namespace', 0],
  ['CustomResourceDefinition', 0],
  ['PriorityClass', 0],
  ['StorageClass', 0],
  ['IngressClass', 0],
  ['NetworkPolicy', 1],
  ['ResourceQuota', 1],
  ['LimitRange', 1],
  ['PodDisruptionBudget', 1],
  ['ServiceAccount', 1],
  ['Secret', 1],
  ['ExternalSecret', 1],
  ['ConfigMap', 1],
  ['PersistentVolume', 1],
  ['PersistentVolumeClaim', 1],
  ['ClusterRole', 1],
  ['ClusterRoleBinding', 1],
  ['Role', 1],
  ['RoleBinding', 1],
  ['Service', 1],
  ['Cluster', 2],
  ['DaemonSet', 2],
  ['Deployment', 2],
  ['StatefulSet', 2],
  ['Job', 2],
  ['CronJob', 2],
  // (kinds not in the table rank here, in wave 2)
  ['HorizontalPodAutoscaler', 3],
  ['Ingress', 3],
];

export const WAVE_NAMES = ['namespaces, CRDs and classes', 'policy, identity, config, storage, RBAC, services', 'workloads', 'autoscalers and ingresses'];

/** Where kinds not in the table go: the end of wave 2. */
const UNKNOWN_WAVE = 2;
const UNKNOWN_RANK = KINDS.findIndex(([, wave]) => wave > UNKNOWN_WAVE) - 0.5;
const RANK = new Map(KINDS.map(([kind], i) => [kind, i]));
const WAVE = new Map(KINDS);

/** The kinds of the table, in apply order. */
export const KIND_ORDER: readonly string[] = KINDS.map(([kind]) => kind);

/** A kind's place in the apply order (kinds not in the table: after the workloads, before wave 3). */
export function kindRank(kind: string): number {
  return RANK.get(kind) ?? UNKNOWN_RANK;
}

export function waveOf(o: Pick<KubeObject, 'kind'>): number {
  return WAVE.get(o.kind) ?? UNKNOWN_WAVE;
}

export function toWaves<T extends KubeObject>(objects: readonly T[]): T[][] {
  const waves: T[][] = WAVE_NAMES.map(() => []);
  for (const o of objects) waves[waveOf(o)]!.push(o);
  return waves;
}
