import type { CoreV1Event, V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import type { Engine } from './engine/index.js';
import { deploymentHealth, healthCheckFor, type Health } from './health.js';
import { resourcePath, type KubeObject } from '@bitpin/kube-client';
import { objectRef } from './manifest.js';
import { mapLimit } from './pool.js';

export interface WaitResult {
  readonly ref: string;
  readonly health: Health;
  /** Recent warnings (events, pod waiting reasons) for objects that did not get ready. */
  readonly evidence?: readonly string[];
  readonly skipped?: string;
  /** Who writes this object's status instead of its operator (e.g. `k8s-testenv`): its readiness is simulated. */
  readonly simulatedBy?: string;
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly onProgress?: (ready: number, total: number, pending: readonly WaitResult[]) => void;
}

/**
 * The annotation a CRD carries when the cluster simulates its objects' status instead of running
 * the operator (value: who simulates). Only the local control plane sets it: tools/k8s-testenv's
 * kwok stage for CloudNativePG Clusters (its STATUS_SIMULATED_ANNOTATION; a test checks they agree).
 */
export const STATUS_SIMULATED_ANNOTATION = 'bitpin.io/status-simulated-by';

/**
 * Waits until every object with a readiness rule is ready, one fails for good, or the timeout
 * passes. Kinds that need an operator this cluster does not run (a CloudNativePG Cluster without
 * the operator) are reported as skipped, not waited for forever — unless the cluster simulates
 * their status ({@link STATUS_SIMULATED_ANNOTATION}): then they are waited for and marked `simulatedBy`.
 */
export async function waitForReady(engine: Engine, objects: readonly KubeObject[], opts: WaitOptions): Promise<WaitResult[]> {
  const interval = opts.intervalMs ?? 1000;
  const skipped: WaitResult[] = [];
  let watched = objects.filter((o) => healthCheckFor(o.apiVersion, o.kind) || isPooler(o));
  const clusters = watched.some((o) => o.kind === 'Cluster');
  const poolers = watched.some(isPooler);
  const operator = (clusters || poolers) && (await hasCnpgOperator(engine));
  const simulatedBy = clusters && !operator ? await cnpgStatusSimulatedBy(engine) : undefined;
  const simulated = (o: KubeObject): boolean => simulatedBy !== undefined && o.kind === 'Cluster';
  if (clusters && !operator && !simulatedBy) {
    for (const o of watched.filter((x) => x.kind === 'Cluster')) {
      skipped.push({ ref: objectRef(o), health: { done: true, ok: true, message: 'not waited' }, skipped: 'no CloudNativePG operator runs in this cluster' });
    }
    watched = watched.filter((o) => o.kind !== 'Cluster');
  }
  // A Pooler's PgBouncer pods are the operator's Deployment: without the operator nothing makes them
  // (the local control plane simulates Clusters' status only).
  if (poolers && !operator) {
    const why = simulatedBy ? `no CloudNativePG operator runs in this cluster (${simulatedBy} simulates Clusters only; PgBouncer pods are the operator's)` : 'no CloudNativePG operator runs in this cluster';
    for (const o of watched.filter(isPooler)) skipped.push({ ref: objectRef(o), health: { done: true, ok: true, message: 'not waited' }, skipped: why });
    watched = watched.filter((o) => !isPooler(o));
  }
  const deadline = Date.now() + opts.timeoutMs;
  const state = new Map<string, WaitResult>();
  let pending = watched;
  for (;;) {
    const results = await mapLimit(pending, 8, async (o) => {
      if (isPooler(o)) return { o, result: { ref: objectRef(o), health: await poolerHealth(engine, o) } };
      const info = await engine.info(o);
      const live = await engine.client.get(resourcePath(info, o.metadata.namespace, o.metadata.name), { allow404: true });
      const health: Health = live ? healthCheckFor(o.apiVersion, o.kind)!(live) : { done: false, ok: false, message: 'not found' };
      return { o, result: { ref: objectRef(o), health, ...(simulated(o) ? { simulatedBy } : {}) } };
    });
    for (const { result } of results) state.set(result.ref, result);
    pending = results.filter((r) => !r.result.health.done).map((r) => r.o);
    const failedNow = results.filter((r) => r.result.health.done && !r.result.health.ok);
    opts.onProgress?.(watched.length - pending.length - failedNow.length, watched.length, pending.map((o) => state.get(objectRef(o))!));
    if (!pending.length || failedNow.length || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, interval));
  }
  // Explain what is not ready: its events and, for workloads, why its pods wait.
  const notReady = [...state.values()].filter((r) => !r.health.ok || !r.health.done);
  await mapLimit(notReady, 4, async (r) => {
    const o = watched.find((x) => objectRef(x) === r.ref)!;
    state.set(r.ref, { ...r, evidence: await evidenceFor(engine, o) });
  });
  return [...skipped, ...watched.map((o) => state.get(objectRef(o))!)];
}

/**
 * Who simulates CloudNativePG Clusters' status in this cluster (the Cluster CRD's
 * {@link STATUS_SIMULATED_ANNOTATION}), or undefined: a real cluster, or the CRD is not readable.
 */
export async function cnpgStatusSimulatedBy(engine: Engine): Promise<string | undefined> {
  try {
    const crd = await engine.client.get<KubeObject | undefined>('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusters.postgresql.cnpg.io', { allow404: true });
    return crd?.metadata.annotations?.[STATUS_SIMULATED_ANNOTATION] || undefined;
  } catch {
    return undefined;
  }
}

/** A CloudNativePG Pooler (PgBouncer). */
export function isPooler(o: Pick<KubeObject, 'apiVersion' | 'kind'>): boolean {
  return o.kind === 'Pooler' && o.apiVersion.startsWith('postgresql.cnpg.io/');
}

/**
 * A Pooler is ready when its PgBouncer pods are: CloudNativePG runs them as a Deployment with the
 * Pooler's name in its namespace (pkg/specs/pgbouncer), `spec.instances` replicas — the Pooler's own
 * status only counts the pods it asked for. Read with the Deployment rules (`kubectl rollout status`).
 */
export async function poolerHealth(engine: Engine, o: KubeObject): Promise<Health & { absent?: true }> {
  const path = `/apis/apps/v1/namespaces/${o.metadata.namespace}/deployments/${o.metadata.name}`;
  const live = await engine.client.get<Parameters<typeof deploymentHealth>[0] | undefined>(path, { allow404: true });
  if (!live) return { done: false, ok: false, absent: true, message: `no PgBouncer Deployment ${o.metadata.name} yet (the CloudNativePG operator makes it)` };
  const h = deploymentHealth(live);
  return { ...h, message: `PgBouncer: ${h.message}` };
}

async function hasCnpgOperator(engine: Engine): Promise<boolean> {
  const info = await engine.info({ apiVersion: 'apps/v1', kind: 'Deployment' });
  const list = await engine.client.get<{ items: unknown[] }>(resourcePath(info), {
    query: { labelSelector: 'app.kubernetes.io/name=cloudnative-pg', limit: 1 },
  });
  return list.items.length > 0;
}

async function evidenceFor(engine: Engine, o: KubeObject): Promise<string[]> {
  const lines: string[] = [];
  const ns = o.metadata.namespace;
  if (ns) {
    const ev = await engine.client.get<{ items: CoreV1Event[] }>(`/api/v1/namespaces/${ns}/events`, {
      query: { fieldSelector: `involvedObject.name=${o.metadata.name},involvedObject.kind=${o.kind}` },
    });
    for (const e of ev.items.filter((x) => x.type === 'Warning').slice(-3)) lines.push(`event ${e.reason}: ${e.message}`);
    // Deployments, StatefulSets and DaemonSets all select their pods with spec.selector; a Pooler's
    // pods carry its name (CloudNativePG's cnpg.io/poolerName).
    const selector = isPooler(o) ? { 'cnpg.io/poolerName': o.metadata.name } : (o as { spec?: { selector?: V1LabelSelector } }).spec?.selector?.matchLabels;
    if (selector && ['Deployment', 'StatefulSet', 'DaemonSet', 'Pooler'].includes(o.kind)) {
      const pods = await engine.client.get<{ items: V1Pod[] }>(`/api/v1/namespaces/${ns}/pods`, {
        query: { labelSelector: Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(','), limit: 20 },
      });
      const reasons = new Map<string, number>();
      for (const p of pods.items) {
        const sched = (p.status?.conditions ?? []).find((c) => c.type === 'PodScheduled' && c.status === 'False');
        if (sched) reasons.set(`pod unschedulable: ${sched.message ?? sched.reason}`, (reasons.get(`pod unschedulable: ${sched.message ?? sched.reason}`) ?? 0) + 1);
        for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
          const w = cs.state?.waiting;
          if (w?.reason) {
            const k = `container ${cs.name} waiting: ${w.reason}${w.message ? ` (${w.message})` : ''}`;
            reasons.set(k, (reasons.get(k) ?? 0) + 1);
          }
        }
      }
      for (const [k, n] of reasons) lines.push(n > 1 ? `${k} ×${n}` : k);
    }
  }
  return lines;
}
