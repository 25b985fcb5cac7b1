import { METADATA_ONLY_LIST, resourcePath, type KubeObject, type ResourceInfo } from '@bitpin/kube-client';
import type { Engine } from './engine/index.js';
import { FIELD_MANAGER, LABEL_PART_OF, applysetId } from './inventory.js';
import { objectRef } from './manifest.js';
import { mapLimit } from './pool.js';

/** An object the apply would add that already exists outside the env's inventory. */
export interface Unowned {
  readonly ref: string;
  /** Who manages it: another env's inventory, its managed-by label, or its field managers. */
  readonly managedBy: string;
}

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  managedFields?: { manager?: string }[];
}

function managerOf(meta: Meta, env: string): string {
  const set = meta.labels?.[LABEL_PART_OF];
  if (set && set !== applysetId(env)) return `another inventory (${LABEL_PART_OF}=${set})`;
  const managers = [...new Set((meta.managedFields ?? []).map((m) => m.manager).filter((m): m is string => Boolean(m)))];
  const label = meta.labels?.['app.kubernetes.io/managed-by'];
  if (managers.length) return `field managers ${managers.join(', ')}${label ? `, managed-by label ${label}` : ''}`;
  return label ? `managed-by label ${label}` : 'unknown (no field managers)';
}

/**
 * Which of `adds` (objects new to the env's inventory) already exist in the cluster. kapp and Helm
 * refuse to take over what they did not create; so does apply, unless --adopt.
 *
 * Cheap by construction: one metadata-only LIST of the namespaces, then one metadata-only LIST per
 * kind — cluster-wide for cluster-scoped kinds, and only in namespaces that already exist for
 * namespaced ones (nothing can exist in a namespace that does not). A first apply to a fresh
 * cluster costs 1 + (cluster-scoped kinds) requests, all in one round trip after the first.
 */
export async function findUnowned(engine: Engine, adds: readonly KubeObject[], env: string): Promise<Unowned[]> {
  if (!adds.length) return [];
  const nsList = await engine.client.get<{ items: { metadata: Meta }[] }>('/api/v1/namespaces', { accept: METADATA_ONLY_LIST });
  const namespaces = new Map(nsList.items.map((n) => [n.metadata.name, n.metadata]));
  // What to list: (resource, namespace) → the names we would add there.
  const lists = new Map<string, { info: ResourceInfo; namespace: string | undefined; names: Map<string, KubeObject> }>();
  for (const o of adds) {
    if (o.kind === 'Namespace') continue; // answered by the namespace list itself
    const info = await engine.info(o);
    const ns = info.namespaced ? o.metadata.namespace : undefined;
    if (info.namespaced && (!ns || !namespaces.has(ns))) continue;
    const key = `${info.group}/${info.resource}/${ns ?? ''}`;
    const entry = lists.get(key) ?? { info, namespace: ns, names: new Map<string, KubeObject>() };
    entry.names.set(o.metadata.name, o);
    lists.set(key, entry);
  }
  const found: Unowned[] = [];
  for (const o of adds.filter((x) => x.kind === 'Namespace')) {
    const meta = namespaces.get(o.metadata.name);
    if (meta) found.push({ ref: objectRef(o), managedBy: managerOf(meta, env) });
  }
  await mapLimit([...lists.values()], 16, async ({ info, namespace, names }) => {
    const list = await engine.client.get<{ items: { metadata: Meta }[] }>(resourcePath(info, namespace), { accept: METADATA_ONLY_LIST, allow404: true });
    for (const item of list?.items ?? []) {
      const o = names.get(item.metadata.name);
      if (o) found.push({ ref: objectRef(o), managedBy: managerOf(item.metadata, env) });
    }
  });
  return found.sort((a, b) => a.ref.localeCompare(b.ref));
}

/** The refusal: one line per object, then what to do. */
export function adoptionLines(unowned: readonly Unowned[], env: string): string[] {
  return [
    ...unowned.map((u) => `${u.ref} already exists and is not part of env ${env}'s inventory (managed by ${u.managedBy})`),
    `nothing was changed: ${FIELD_MANAGER} does not take over objects it did not create; delete ${unowned.length === 1 ? 'it' : 'them'}, or pass --adopt to make ${unowned.length === 1 ? 'it' : 'them'} part of env ${env} (fields another manager owns still need --force-conflicts)`,
  ];
}
