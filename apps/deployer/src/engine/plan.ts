/** What an apply would change, computed from the inventory before anything is written. */
import { DEPLOY_ANNOTATIONS } from '@bitpin/config';
import type { KubeObject } from '@bitpin/kube-client';
import { isUpToDate, readParentState, stampHash, stateOf, type ParentState } from '../inventory.js';
import { objectRef } from '../manifest.js';
import type { Engine } from './engine.js';
import { listMembers, readParent, type LiveMember } from './parent.js';

/** A closed set of change kinds (as in kapp). */
export type ChangeKind = 'add' | 'update' | 'noop' | 'delete';

export interface Change {
  readonly ref: string;
  readonly kind: ChangeKind;
  /** Why an object is not deleted although it left the set (PVCs and namespaces are kept unless named). */
  readonly kept?: string;
  /** Deleted and re-created (--replace) rather than updated in place. */
  readonly replaced?: boolean;
}

/** Kinds never pruned unless named with --prune-allow: losing them loses data or everything inside. */
export const PROTECTED_KINDS = new Set(['Namespace', 'PersistentVolumeClaim', 'PersistentVolume', 'CustomResourceDefinition']);

/**
 * What an apply of `given` over `live` would send: objects not stored exactly as desired (same
 * content hash, every field we send present with our value), and generated Secrets not there yet.
 * No request: it compares with the live members already read.
 */
export interface PendingChanges {
  /** `given`, each stamped with its content hash. */
  readonly objects: KubeObject[];
  /** The noops so far; {@link applyAll} adds what it writes. */
  readonly changes: Map<string, Change>;
  readonly toSend: KubeObject[];
  readonly toGenerate: KubeObject[];
}

export function pendingChanges(given: readonly KubeObject[], live: ReadonlyMap<string, LiveMember>): PendingChanges {
  const objects = given.map(stampHash);
  const changes = new Map<string, Change>();
  const toSend: KubeObject[] = [];
  const toGenerate: KubeObject[] = [];
  for (const o of objects) {
    if (o.kind === 'Secret' && o.metadata.annotations?.[DEPLOY_ANNOTATIONS.generate]) {
      // Generated once, never overwritten: an existing one (ours or made by hand) is left alone.
      // One not in our set is found by its create (409), not by an extra read.
      if (live.has(objectRef(o))) changes.set(objectRef(o), { ref: objectRef(o), kind: 'noop' });
      else toGenerate.push(o);
    } else if (isUpToDate(o, live.get(objectRef(o))?.object)) {
      changes.set(objectRef(o), { ref: objectRef(o), kind: 'noop' });
    } else {
      toSend.push(o);
    }
  }
  return { objects, changes, toSend, toGenerate };
}

export interface Plan {
  readonly parent: KubeObject | undefined;
  readonly previous: ParentState;
  readonly desired: ParentState;
  readonly live: Map<string, LiveMember>;
  /** Members no longer desired, deletable. */
  readonly prune: LiveMember[];
  /** Members no longer desired but protected (PVCs, namespaces…) unless allowed by name. */
  readonly kept: LiveMember[];
  readonly adds: string[];
}

/** Reads the inventory and computes adds and prune candidates (before anything is written). */
export async function plan(
  engine: Engine,
  desired: readonly KubeObject[],
  pruneAllow: ReadonlySet<string> = new Set(),
  known?: { readonly parent: KubeObject | undefined; readonly live?: Promise<Map<string, LiveMember>> },
): Promise<Plan> {
  const desiredState = stateOf(desired);
  const parent = known ? known.parent : await readParent(engine);
  const previous = readParentState(parent);
  // The parent is written with every group-kind before any member of it is (and narrowed only
  // after pruning), so members exist only in the kinds it lists — and none without a parent.
  const live = known?.live ? await known.live : previous.groupKinds.length ? await listMembers(engine, previous) : new Map<string, LiveMember>();
  const want = new Set(desired.map(objectRef));
  const prune: LiveMember[] = [];
  const kept: LiveMember[] = [];
  for (const m of live.values()) {
    if (want.has(m.ref)) continue;
    if (PROTECTED_KINDS.has(m.object.kind) && !pruneAllow.has(m.ref)) kept.push(m);
    else prune.push(m);
  }
  const adds = desired.map(objectRef).filter((r) => !live.has(r));
  return { parent, previous, desired: desiredState, live, prune, kept, adds };
}
