/**
 * The inventory: the env's ApplySet parent (which group-kinds and namespaces its members live in)
 * and its members, found by label. Read before planning, written around the apply (see
 * ../commands.ts: before the first member with the union of old and new, after pruning with
 * exactly what remains).
 */
import { resourcePath, type KubeObject, type ResourceInfo } from '@bitpin/kube-client';
import { ANN_TOOLING, LABEL_PART_OF, PARENT_GROUP, PARENT_KIND, PARENT_VERSION, TOOLING, applysetId, parentCrd, parentName, parentObject, type ParentState } from '../inventory.js';
import { objectRef } from '../manifest.js';
import { mapLimit } from '../pool.js';
import { writeInventoryHint } from '../kube/inventory-hint.js';
import type { Engine } from './engine.js';
import { ApplyError } from './errors.js';
import { CRD_INFO, PARENT_INFO } from './resources.js';
import { waitEstablished } from './waiters.js';

export interface LiveMember {
  readonly ref: string;
  readonly object: KubeObject;
  readonly info: ResourceInfo;
}

/** The env's parent object, or undefined before the first apply. Refuses a parent owned by another tool. */
export async function readParent(engine: Engine): Promise<KubeObject | undefined> {
  // 404: no such parent, or no parent CRD at all.
  return ownParent(engine, await engine.client.get<KubeObject>(resourcePath(PARENT_INFO, undefined, parentName(engine.env)), { allow404: true }));
}

/** Every env's parent in the cluster, in one request; `served` is false when the parent CRD is not installed. */
export async function listParents(engine: Engine): Promise<{ served: boolean; items: KubeObject[] }> {
  const list = await engine.client.get<{ items: KubeObject[] }>(resourcePath(PARENT_INFO), { allow404: true });
  const apiVersion = `${PARENT_GROUP}/${PARENT_VERSION}`;
  return { served: list !== undefined, items: (list?.items ?? []).map((p) => ({ ...p, apiVersion, kind: PARENT_KIND })) };
}

/** This env's parent (from {@link listParents}), refused when another tool owns it. */
export function ownParent(engine: Engine, parent: KubeObject | undefined): KubeObject | undefined {
  const tooling = parent?.metadata.annotations?.[ANN_TOOLING];
  if (parent && tooling && tooling !== TOOLING) {
    throw new ApplyError([`the inventory ${PARENT_KIND}/${parentName(engine.env)} belongs to "${tooling}", not ${TOOLING}; refusing to change it`]);
  }
  return parent;
}

/** A group-kind ("Deployment.apps", "Namespace") split into its group and kind. */
export function splitGroupKind(gk: string): { group: string; kind: string } {
  const dot = gk.indexOf('.');
  return dot === -1 ? { group: '', kind: gk } : { group: gk.slice(dot + 1), kind: gk.slice(0, dot) };
}

/** Every live member of the set, found by label in each group-kind the set has used (one LIST each, all at once). */
export async function listMembers(engine: Engine, state: ParentState): Promise<Map<string, LiveMember>> {
  const kinds: ResourceInfo[] = [];
  for (const gk of state.groupKinds) {
    const { group, kind } = splitGroupKind(gk);
    const info = await engine.discovery.resolveGroupKind(group, kind);
    if (info) kinds.push(info); // a kind whose CRD is gone has no members left to prune
  }
  engine.progress('inventory', { total: kinds.length, done: 0 });
  const { members, stale } = await listMembersOf(engine, kinds);
  if (stale.length) await engine.discovery.invalidate();
  return members;
}

/**
 * The members of the given resource types (one LIST each, all at once), and the types that
 * answered 404 (gone since discovery was read: no members).
 */
export async function listMembersOf(engine: Engine, kinds: readonly ResourceInfo[]): Promise<{ members: Map<string, LiveMember>; stale: ResourceInfo[] }> {
  const members = new Map<string, LiveMember>();
  const stale: ResourceInfo[] = [];
  await mapLimit(kinds, Math.max(engine.concurrency, kinds.length), async (info) => {
    const list = await engine.client.get<{ items: KubeObject[] }>(resourcePath(info), {
      query: { labelSelector: `${LABEL_PART_OF}=${applysetId(engine.env)}` },
      allow404: true,
    });
    // The whole resource type is gone (its CRD was deleted since discovery was cached): no members.
    if (!list) stale.push(info);
    for (const item of list?.items ?? []) {
      const o = { ...item, apiVersion: info.group ? `${info.group}/${info.version}` : info.version, kind: info.kind } as KubeObject;
      members.set(objectRef(o), { ref: objectRef(o), object: o, info });
    }
  });
  return { members, stale };
}

/** Writes the parent with `state`, installing the parent CRD first when it is not served (`crdServed`, from {@link listParents}). */
export async function writeParent(engine: Engine, context: string, state: ParentState, crdServed: boolean): Promise<void> {
  if (!crdServed) {
    const crd = parentCrd();
    await engine.applyOne(crd, { info: CRD_INFO });
    await waitEstablished(engine, crd.metadata.name, 30_000, false);
  }
  await engine.applyOne(parentObject(engine.env, context, state), { info: PARENT_INFO });
  writeInventoryHint(engine.client.server, engine.env, state.groupKinds);
}

/** Deletes this env's parent (the inventory); absent is fine. */
export async function deleteParent(engine: Engine): Promise<void> {
  await engine.client.request('DELETE', resourcePath(PARENT_INFO, undefined, parentName(engine.env)), { allow404: true });
  writeInventoryHint(engine.client.server, engine.env, []);
}
