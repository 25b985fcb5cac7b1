import { ApplyError, type ChangeKind, type Engine, type LiveMember } from './engine/index.js';
import { resourcePath, type KubeObject } from '@bitpin/kube-client';
import { objectRef } from './manifest.js';
import { mapLimit } from './pool.js';

export interface DiffEntry {
  readonly ref: string;
  readonly kind: ChangeKind;
  /** Changed paths with old → new values; Secret values are masked. */
  readonly changes: readonly string[];
}

const VOLATILE_META = ['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid'];

function normalize(o: any): any {
  if (!o) return o;
  const { status: _status, ...rest } = o;
  const metadata = { ...(rest.metadata ?? {}) };
  for (const k of VOLATILE_META) delete metadata[k];
  return { ...rest, metadata };
}

function isSecret(o: { kind?: string }): boolean {
  return o.kind === 'Secret';
}

function show(v: unknown, secret: boolean): string {
  if (v === undefined) return '(absent)';
  if (secret) return '(sensitive)';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Leaf-level differences between two JSON values, as "path: old → new". */
export function jsonChanges(before: unknown, after: unknown, secret = false, path = ''): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isObj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before as object), ...Object.keys(after as object)])].sort();
    return keys.flatMap((k) =>
      jsonChanges((before as any)[k], (after as any)[k], secret, `${path}.${k}`),
    );
  }
  return [`${path || '.'}: ${show(before, secret)} → ${show(after, secret)}`];
}

/**
 * What an apply would change, computed by the API server itself: a server-side dry-run apply of
 * every object (admission, defaulting and field ownership included) compared with the live
 * object. Nothing is written. Secret values never appear.
 */
export async function diff(engine: Engine, desired: readonly KubeObject[], prune: readonly LiveMember[]): Promise<DiffEntry[]> {
  const failures: string[] = [];
  const entries = await mapLimit(desired, 8, async (o): Promise<DiffEntry | undefined> => {
    try {
      const info = await engine.info(o);
      const live = await engine.client.get(resourcePath(info, o.metadata.namespace, o.metadata.name), { allow404: true });
      if (!live) return { ref: objectRef(o), kind: 'add', changes: [] };
      const { object: dry } = await engine.applyOne(o, { dryRun: true, full: true });
      const changes = jsonChanges(normalize(live), normalize(dry), isSecret(o));
      return { ref: objectRef(o), kind: changes.length ? 'update' : 'noop', changes };
    } catch (e) {
      // Every refused object is named, as apply's validation does; the cluster being gone is one line.
      if (!(e instanceof ApplyError)) throw e;
      failures.push(...e.lines);
      return undefined;
    }
  });
  if (failures.length) throw new ApplyError([...failures.sort(), 'nothing was changed (diff only dry-runs)']);
  return [...entries.filter((e): e is DiffEntry => e !== undefined), ...prune.map((m) => ({ ref: m.ref, kind: 'delete' as const, changes: [] }))];
}
