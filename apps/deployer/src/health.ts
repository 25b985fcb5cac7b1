import type {
  V1CustomResourceDefinition,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1PersistentVolumeClaim,
  V1StatefulSet,
} from '@kubernetes/client-node';

/**
 * Readiness of live objects, by kind, following the rules `kubectl rollout status` and Argo CD
 * use (kubectl's `rollout status` in k8s.io/kubectl pkg/polymorphichelpers/rollout_status.go; Argo CD's
 * gitops-engine pkg/health). Each check returns whether waiting is over, whether
 * it succeeded, and a human message such as "2/3 replicas updated".
 */
export interface Health {
  /** Waiting is over (ready, or failed for good). */
  readonly done: boolean;
  /** Only meaningful when done. */
  readonly ok: boolean;
  readonly message: string;
}

/**
 * A live object as read from the API server, typed by its kind's model from
 * @kubernetes/client-node (types only: nothing of it is loaded at run time). Every field may be
 * missing: a controller may not have written its status yet.
 */
type Live<T extends { spec?: object; status?: object }> = {
  readonly metadata?: { readonly generation?: number };
  readonly spec?: Partial<NonNullable<T['spec']>>;
  readonly status?: Partial<NonNullable<T['status']>>;
};

/** What a condition says, in every kind's `status.conditions`. */
interface ConditionLike {
  readonly type: string;
  readonly status: string;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
}

/** A CloudNativePG `Cluster` (postgresql.cnpg.io/v1), the fields its readiness reads. */
interface CnpgCluster {
  readonly spec?: { readonly instances?: number };
  readonly status?: { readonly phase?: string; readonly readyInstances?: number };
}

/** An External Secrets Operator `ExternalSecret`, the fields its readiness reads. */
interface ExternalSecret {
  readonly status?: { readonly conditions?: readonly ConditionLike[] };
}

/** Any object a check may be given: the API's JSON for its kind. */
export type LiveObject = { readonly metadata?: { readonly generation?: number }; readonly spec?: unknown; readonly status?: unknown };

const ready = (message = 'ready'): Health => ({ done: true, ok: true, message });
const progressing = (message: string): Health => ({ done: false, ok: false, message });
const failed = (message: string): Health => ({ done: true, ok: false, message });

function condition(live: { readonly status?: { readonly conditions?: readonly ConditionLike[] } }, type: string): ConditionLike | undefined {
  return live.status?.conditions?.find((c) => c.type === type);
}

function observed(live: { readonly metadata?: { readonly generation?: number }; readonly status?: { readonly observedGeneration?: number } }): boolean {
  const gen = live.metadata?.generation;
  const obs = live.status?.observedGeneration;
  return gen === undefined || (obs !== undefined && obs >= gen);
}

export function deploymentHealth(live: Live<V1Deployment>): Health {
  if (live.spec?.paused) return ready('paused (not waited)');
  if (!observed(live)) return progressing('waiting for the controller to observe the new generation');
  const prog = condition(live, 'Progressing');
  if (prog?.reason === 'ProgressDeadlineExceeded') return failed(`rollout exceeded its progress deadline: ${prog.message ?? ''}`.trim());
  const rf = condition(live, 'ReplicaFailure');
  const want = live.spec?.replicas ?? 1;
  const st = live.status ?? {};
  const updated = st.updatedReplicas ?? 0;
  const total = st.replicas ?? 0;
  const available = st.availableReplicas ?? 0;
  const suffix = rf?.status === 'True' ? ` (ReplicaFailure: ${rf.message})` : '';
  if (updated < want) return progressing(`${updated}/${want} replicas updated${suffix}`);
  if (total > updated) return progressing(`${total - updated} old replicas pending termination${suffix}`);
  if (available < updated) return progressing(`${available}/${updated} updated replicas available${suffix}`);
  return ready(`${available}/${want} replicas available`);
}

export function statefulSetHealth(live: Live<V1StatefulSet>): Health {
  if (!live.status?.observedGeneration || !observed(live)) return progressing('waiting for the controller to observe the new generation');
  const want = live.spec?.replicas ?? 1;
  const st = live.status ?? {};
  if (live.spec?.updateStrategy?.type === 'OnDelete') return ready('OnDelete update strategy (not waited)');
  const partition = live.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  if ((st.readyReplicas ?? 0) < want) return progressing(`${st.readyReplicas ?? 0}/${want} replicas ready`);
  if (partition > 0) {
    return (st.updatedReplicas ?? 0) >= want - partition ? ready(`partitioned rollout at ${partition}`) : progressing(`${st.updatedReplicas ?? 0}/${want - partition} replicas updated`);
  }
  if (st.updateRevision && st.currentRevision !== st.updateRevision) return progressing(`${st.updatedReplicas ?? 0}/${want} replicas on the new revision`);
  return ready(`${st.readyReplicas}/${want} replicas ready`);
}

export function daemonSetHealth(live: Live<V1DaemonSet>): Health {
  if (!observed(live)) return progressing('waiting for the controller to observe the new generation');
  if (live.spec?.updateStrategy?.type === 'OnDelete') return ready('OnDelete update strategy (not waited)');
  const st = live.status ?? {};
  const desired = st.desiredNumberScheduled ?? 0;
  if ((st.updatedNumberScheduled ?? 0) < desired) return progressing(`${st.updatedNumberScheduled ?? 0}/${desired} pods updated`);
  if ((st.numberAvailable ?? 0) < desired) return progressing(`${st.numberAvailable ?? 0}/${desired} pods available`);
  return ready(`${st.numberAvailable ?? 0}/${desired} pods available`);
}

export function jobHealth(live: Live<V1Job>): Health {
  if (condition(live, 'Failed')?.status === 'True') return failed(`job failed: ${condition(live, 'Failed')?.message ?? condition(live, 'Failed')?.reason ?? ''}`);
  if (condition(live, 'Complete')?.status === 'True') return ready('complete');
  return progressing(`${live.status?.succeeded ?? 0} succeeded, ${live.status?.active ?? 0} active`);
}

export function pvcHealth(live: Live<V1PersistentVolumeClaim>): Health {
  const phase = live.status?.phase;
  if (phase === 'Bound') return ready('bound');
  if (phase === 'Lost') return failed('volume lost');
  return progressing(`phase ${phase ?? 'unknown'}`);
}

export function crdHealth(live: Live<V1CustomResourceDefinition>): Health {
  if (condition(live, 'Established')?.status === 'True') return ready('established');
  const nac = condition(live, 'NamesAccepted');
  if (nac?.status === 'False') return failed(`names not accepted: ${nac.message}`);
  return progressing('not established yet');
}

/** CloudNativePG: healthy when the operator reports the healthy phase with every instance ready. */
export function cnpgClusterHealth(live: CnpgCluster): Health {
  const st = live.status ?? {};
  const want = live.spec?.instances ?? 1;
  if (st.phase === 'Cluster in healthy state' && (st.readyInstances ?? 0) >= want) return ready(`${st.readyInstances}/${want} instances ready`);
  if (!st.phase) return progressing('no status from the CloudNativePG operator yet');
  return progressing(`${st.phase} (${st.readyInstances ?? 0}/${want} instances ready)`);
}

/** External Secrets Operator: ready once the Secret is synced from the store (condition Ready). */
export function externalSecretHealth(live: ExternalSecret): Health {
  const c = condition(live, 'Ready');
  if (c?.status === 'True') return ready('synced from the store');
  if (!c) return progressing('no status from the External Secrets Operator yet (is it installed?)');
  // Not terminal: the key may appear in the store, or the store's credentials may be fixed.
  return progressing(`not synced: ${c.reason ?? ''}${c.message ? ` ${c.message}` : ''}`.trim());
}

/** Each kind's check; the API's JSON for that kind is what it is given (see {@link healthCheckFor}). */
const CHECKS: Record<string, (live: never) => Health> = {
  'apps/Deployment': deploymentHealth,
  'apps/StatefulSet': statefulSetHealth,
  'apps/DaemonSet': daemonSetHealth,
  'batch/Job': jobHealth,
  '/PersistentVolumeClaim': pvcHealth,
  'apiextensions.k8s.io/CustomResourceDefinition': crdHealth,
  'postgresql.cnpg.io/Cluster': cnpgClusterHealth,
  'external-secrets.io/ExternalSecret': externalSecretHealth,
};

/** The health check for a kind, or undefined when the kind is ready as soon as it is stored. */
export function healthCheckFor(apiVersion: string, kind: string): ((live: LiveObject) => Health) | undefined {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  // The check is looked up by the object's own kind, so its JSON has that kind's shape.
  return CHECKS[`${group}/${kind}`] as ((live: LiveObject) => Health) | undefined;
}
