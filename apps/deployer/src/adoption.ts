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
 * namespaced ones (nothing can exist in a namespace that does not). The namespaces' LIST and the
 * cluster-scoped kinds' go out together, so a first apply to a fresh cluster costs 1 + (cluster-
 * scoped kinds) requests in one round trip; namespaced kinds follow only where a namespace exists.
 */
export async function findUnowned(engine: Engine, adds: readonly KubeObject[], env: string): Promise<Unowned[]> {
  if (!adds.length) return [];
  // What to list: (resource, namespace) → the names we would add there. Cluster-scoped kinds are
  // listed at once with the namespaces; namespaced kinds after, only in namespaces that exist.
  type Entry = { info: ResourceInfo; namespace: string | undefined; names: Map<string, KubeObject> };
  const clusterLists = new Map<string, Entry>();
  const namespaced: { o: KubeObject; info: ResourceInfo }[] = [];
  const add = (lists: Map<string, Entry>, o: KubeObject, info: ResourceInfo, ns: string | undefined) => {
    const key = `${info.group}/${info.resource}/${ns ?? ''}`;
    const entry = lists.get(key) ?? { info, namespace: ns, names: new Map<string, KubeObject>() };
    entry.names.set(o.metadata.name, o);
    lists.set(key, entry);
  };
  for (const o of adds) {
    if (o.kind === 'Namespace') continue; // answered by the namespace list itself
    const info = await engine.info(o);
    if (info.namespaced) namespaced.push({ o, info });
    else add(clusterLists, o, info, undefined);
  }
  const found: Unowned[] = [];
  const listEach = (lists: Map<string, Entry>) =>
    mapLimit([...lists.values()], 16, async ({ info, namespace, names }) => {
      const list = await engine.client.get<{ items: { metadata: Meta }[] }>(resourcePath(info, namespace), { accept: METADATA_ONLY_LIST, allow404: true });
      for (const item of list?.items ?? []) {
        const o = names.get(item.metadata.name);
        if (o) found.push({ ref: objectRef(o), managedBy: managerOf(item.metadata, env) });
      }
    });
  const [nsList] = await Promise.all([engine.client.get<{ items: { metadata: Meta }[] }>('/api/v1/namespaces', { accept: METADATA_ONLY_LIST }), listEach(clusterLists)]);
  const namespaces = new Map(nsList.items.map((n) => [n.metadata.name, n.metadata]));
  for (const o of adds.filter((x) => x.kind === 'Namespace')) {
    const meta = namespaces.get(o.metadata.name);
    if (meta) found.push({ ref: objectRef(o), managedBy: managerOf(meta, env) });
  }
  const nsLists = new Map<string, Entry>();
  for (const { o, info } of namespaced) {
    const ns = o.metadata.namespace;
    if (ns && namespaces.has(ns)) add(nsLists, o, info, ns);
  }
  await listEach(nsLists);
  return found.sort((a, b) => a.ref.localeCompare(b.ref));
}

/** The refusal: one line per object, then what to do. */
export function adoptionLines(unowned: readonly Unowned[], env: string): string[] {
  return [
    ...unowned.map((u) => `${u.ref} already exists and is not part of env ${env}'s inventory (managed by ${u.managedBy})`),
    `nothing was changed: ${FIELD_MANAGER} does not take over objects it did not create; delete ${unowned.length === 1 ? 'it' : 'them'}, or pass --adopt to make ${unowned.length === 1 ? 'it' : 'them'} part of env ${env} (fields another manager owns still need --force-conflicts)`,
  ];
}
