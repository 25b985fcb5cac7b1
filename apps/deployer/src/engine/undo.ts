/** Undoing an install refused midway: what it created is deleted again, the last wave first. */
import type { KubeObject, ResourceInfo } from '@bitpin/kube-client';
import { objectRef, sortForApply } from '../manifest.js';
import { mapLimit } from '../pool.js';
import { deleteExact } from './deletes.js';
import type { Engine } from './engine.js';
import { waitNamespacesGone } from './waiters.js';

/**
 * An object an install wrote: created by it (undone by deleting it), or found already there —
 * made by someone else, or ours but missing from the inventory — which cannot be put back as it
 * was (its earlier content is not known), so it is left as applied and named.
 */
export interface Written {
  readonly o: KubeObject;
  readonly info: ResourceInfo;
  readonly uid: string | undefined;
  readonly how: 'created' | 'existed';
}

/**
 * Undoes an install's writes, the last wave first: objects it created are deleted (only that
 * very object: a uid precondition), namespaces last and waited for (a terminating namespace
 * refuses the next apply's objects). Objects that existed before it are left as applied.
 */
export async function undoInstall(engine: Engine, written: readonly Written[], timeoutMs = 120_000): Promise<{ complete: boolean; lines: string[] }> {
  const failed: string[] = [];
  const created = written.filter((w) => w.how === 'created');
  const existed = written.filter((w) => w.how === 'existed');
  const namespaces = created.filter((w) => w.o.kind === 'Namespace');
  const inside = sortForApply(created.filter((w) => w.o.kind !== 'Namespace').map((w) => w.o))
    .reverse()
    .map((o) => created.find((w) => w.o === o)!);
  const undo = async (w: Written) => {
    try {
      await deleteExact(engine, w.info, w.o, w.uid);
    } catch (e) {
      failed.push(`${objectRef(w.o)} (${(e as Error).message.split('\n')[0]})`);
    }
  };
  engine.progress('rollback', { message: `undoing the install: deleting the ${created.length} objects it created` });
  await mapLimit(inside, engine.concurrency, undo);
  await mapLimit(namespaces, engine.concurrency, undo);
  try {
    const left = await waitNamespacesGone(
      engine,
      namespaces.map((w) => w.o.metadata.name),
      timeoutMs,
      (name) => engine.progress('rollback', { message: `waiting for namespace ${name} to terminate` }),
    );
    for (const name of left) failed.push(`Namespace/${name} (still terminating after ${timeoutMs / 1000}s; check its finalizers)`);
  } catch (e) {
    for (const w of namespaces) failed.push(`${objectRef(w.o)} (${(e as Error).message.split('\n')[0]})`);
  }
  const deleted = `deleted the ${created.length} object${created.length === 1 ? '' : 's'} it had created`;
  const kept = existed.length
    ? `; left as applied the ${existed.length} that existed before it (not created by this run, so not deleted): ${existed.map((w) => objectRef(w.o)).sort().join(', ')}`
    : '';
  if (failed.length) {
    return {
      complete: false,
      lines: [`the install was not fully undone; left behind: ${failed.sort().join('; ')}${kept} — re-run apply to converge, or destroy the env`],
    };
  }
  // "Nothing was changed" only when the install touched nothing it did not create.
  return { complete: !existed.length, lines: [existed.length ? `the install was undone: ${deleted}${kept}` : `nothing was changed: the install was undone (${deleted})`] };
}
