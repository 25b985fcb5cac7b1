/**
 * validate → write: the desired set's changes go out in waves, as an install (undone when refused
 * midway) or an update (validated whole by a server-side dry run before its first write).
 */
import type { KubeObject } from '@bitpin/kube-client';
import { objectRef } from '../manifest.js';
import { toWaves, WAVE_NAMES } from '../waves.js';
import { replaceObject, replaceRefusal } from './deletes.js';
import type { Engine, Task } from './engine.js';
import { ApplyError, ONLY_WRITE, onlyImmutable } from './errors.js';
import type { LiveMember } from './parent.js';
import { pendingChanges, type Change, type ChangeKind, type PendingChanges } from './plan.js';
import { undoInstall, type Written } from './undo.js';
import { waitEstablished } from './waiters.js';
import { generateSecret, handOffReplicas, needsReplicasHandoff } from './writes.js';

export interface ApplyAllOptions {
  /** The inventory parent's write: awaited before the first write. */
  readonly beforeWrite?: Promise<void> | undefined;
  /** {@link pendingChanges} of the set over `live`, when the caller has it already. */
  readonly pending?: PendingChanges;
  /**
   * `--replace`: these objects (refs) are deleted and re-created when the API server refuses
   * their change as immutable (never PVCs, namespaces, CRDs, or a StatefulSet whose
   * volumeClaimTemplates change). @default - none
   */
  readonly replace?: ReadonlySet<string>;
}

const isFoundation = (o: KubeObject) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition';

/** `group/Kind` a CRD serves. */
function servedKind(crd: KubeObject): string {
  const spec = (crd as { spec?: { group?: string; names?: { kind?: string } } }).spec;
  return `${spec?.group}/${spec?.names?.kind}`;
}

/**
 * Applies the desired set: objects already stored exactly as desired (same content hash, every
 * field we send present with our value) are not sent again; the rest go out in waves. Either
 * way a refused object leaves nothing half-applied:
 * - an **install** — every object to write is new to the set (a first apply, or additions
 *   only) — is written straight away and undone if any object is refused: what it created is
 *   deleted. No dry run: it would double the requests of a first apply. An object the install
 *   found already there is never deleted or stripped: it is left as applied, and the error
 *   names it.
 * - an **update** cannot be undone that way, so every change of every wave — namespaces
 *   included — is validated by a server-side dry run before the first write; a refusal anywhere
 *   changes nothing. Only what cannot be validated before something else exists (objects in a
 *   namespace, or of a CRD, that the update creates) is validated after those namespaces/CRDs
 *   are created, and a refusal then deletes them again. A single object skips the dry run: one
 *   write is atomic. Should a write still fail after validation (a race, quota, a webhook), the
 *   error names every object already changed.
 */
export async function applyAll(engine: Engine, given: readonly KubeObject[], live: ReadonlyMap<string, LiveMember>, opts: ApplyAllOptions = {}): Promise<Change[]> {
  const { objects, changes, toSend, toGenerate } = opts.pending ?? pendingChanges(given, live);
  const replace = opts.replace ?? new Set<string>();
  const kindOf = (o: KubeObject): ChangeKind => (live.has(objectRef(o)) ? 'update' : 'add');
  const handoffs = toSend.filter((o) => needsReplicasHandoff(o, live.get(objectRef(o))?.object));
  const install = toSend.every((o) => !live.has(objectRef(o)));
  const single = toSend.length === 1 && !toGenerate.length && !handoffs.length;
  // An install writes every namespace and CRD first. An update writes first only the namespaces
  // and CRDs it creates (what is inside them cannot be validated before they exist); a change to
  // an existing namespace is validated with everything else and written in the first wave.
  const foundation = toSend.filter((o) => isFoundation(o) && (install || !live.has(objectRef(o))));
  const rest = toSend.filter((o) => !foundation.includes(o));
  // Objects that can only be dry-run once the new namespaces/CRDs exist.
  const newNamespaces = new Set(foundation.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  const newKinds = new Set(foundation.filter((o) => o.kind === 'CustomResourceDefinition').map(servedKind));
  const waitsForFoundation = (o: KubeObject) =>
    Boolean(o.metadata.namespace && newNamespaces.has(o.metadata.namespace)) || newKinds.has(`${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}/${o.kind}`);

  const written: Written[] = [];
  const existing = new Set<string>();
  const replaced = new Set<string>();
  let writable = false;
  const mayWrite = async () => {
    if (writable) return;
    writable = true;
    await opts.beforeWrite;
  };
  /** A write that creates (install, new namespaces/CRDs of an update), remembered so it can be undone. */
  const write = async (o: KubeObject): Promise<void> => {
    const response: { status?: number; retried?: boolean } = {};
    const { object, info } = await engine.applyOne(o, { response });
    // Only a 201 proves this run created it (a 200 after a retried request may be our own first
    // attempt, or not): what is not proven is never deleted.
    written.push({ o, info, uid: object.metadata.uid, how: response.status === 201 ? 'created' : 'existed' });
  };
  /** An update's write, remembered so a failure can say what it had changed. */
  const updated: string[] = [];
  const update = async (o: KubeObject): Promise<void> => {
    try {
      await engine.applyOne(o);
    } catch (e) {
      // Refused as immutable, and named with --replace: deleted and created again.
      const m = live.get(objectRef(o));
      if (!(m && replace.has(objectRef(o)) && e instanceof ApplyError && onlyImmutable(e.cause))) throw e;
      engine.progress('apply', { message: `replacing ${objectRef(o)} (--replace: deleting it, then creating it)` });
      // Once deleted it counts as changed, whether or not its creation then succeeds.
      await replaceObject(engine, o, m, () => updated.push(objectRef(o)));
      replaced.add(objectRef(o));
      return;
    }
    updated.push(objectRef(o));
  };
  /** An update's dry run; a change refused only as immutable passes when --replace names the object. */
  const validate = async (o: KubeObject): Promise<void> => {
    try {
      await engine.applyOne(o, { dryRun: true });
    } catch (e) {
      const m = live.get(objectRef(o));
      if (!(m && replace.has(objectRef(o)) && e instanceof ApplyError && onlyImmutable(e.cause))) throw e;
      const refusal = replaceRefusal(o, m.object);
      if (refusal) throw new ApplyError([refusal]);
    }
  };
  const generate = async (o: KubeObject): Promise<void> => {
    if ((await generateSecret(engine, o, false)) === 'exists') existing.add(objectRef(o));
    else written.push({ o, info: await engine.info(o), uid: undefined, how: 'created' });
  };
  const dryRunTasks = (list: readonly KubeObject[], secrets: readonly KubeObject[]): Task[] => [
    ...list.map((o) => ({ ref: objectRef(o), run: () => validate(o), size: engine.bodyOf(o).length })),
    ...secrets.map((o) => ({
      ref: objectRef(o),
      run: async () => {
        if ((await generateSecret(engine, o, true)) === 'exists') existing.add(objectRef(o));
      },
    })),
  ];

  try {
    // 1. An update validates every change it can before its first write — namespaces included —
    //    so a refusal anywhere changes nothing (a single object is its own validation: one write
    //    is atomic).
    if (!install && !single) {
      await engine.runTasks(
        dryRunTasks(
          toSend.filter((o) => !waitsForFoundation(o)),
          toGenerate.filter((o) => !waitsForFoundation(o)),
        ),
        'validate',
        true,
      );
    }
    // 2. New namespaces and CRDs (the install's, or an update's), remembered for an undo.
    if (foundation.length) {
      await mayWrite();
      await engine.runTasks(
        foundation.map((o) => ({ ref: objectRef(o), run: () => write(o), size: engine.bodyOf(o).length })),
        'apply',
        false,
        single && !install ? ONLY_WRITE : undefined,
      );
      for (const o of foundation) changes.set(objectRef(o), { ref: objectRef(o), kind: kindOf(o) });
      for (const crd of foundation.filter((o) => o.kind === 'CustomResourceDefinition')) await waitEstablished(engine, crd.metadata.name);
      // 3. What lives inside them is validated now; a refusal undoes step 2.
      const inside = rest.filter(waitsForFoundation);
      const secretsInside = toGenerate.filter(waitsForFoundation);
      if (!install && (inside.length || secretsInside.length)) await engine.runTasks(dryRunTasks(inside, secretsInside), 'validate', true);
    }
    // 4. Everything else in waves.
    if (rest.length || toGenerate.length) {
      await mayWrite();
      // Generated Secrets and replica hand-offs go out with the config wave, before any
      // workload: replica counts we stop sending (an autoscaler takes over) are first co-owned
      // by a hand-off manager, so dropping them does not reset the workload to 1 replica.
      const early: Task[] = [
        ...toGenerate
          .filter((o) => !existing.has(objectRef(o)))
          .map((o) => ({ ref: objectRef(o), run: () => (install ? generate(o) : generateSecret(engine, o, false).then(() => undefined)) })),
        ...handoffs.map((o) => ({ ref: objectRef(o), run: () => handOffReplicas(engine, o, live.get(objectRef(o))!.object) })),
      ];
      const waves = toWaves(rest);
      let done = foundation.length;
      for (const [w, wave] of waves.entries()) {
        const tasks: Task[] = [
          ...wave.map((o) => ({ ref: objectRef(o), run: () => (install ? write(o) : update(o)), size: engine.bodyOf(o).length })),
          ...(w === 1 ? early : []),
        ];
        if (!tasks.length) continue;
        engine.progress('apply', { done, total: toSend.length, message: `wave ${w + 1}/${waves.length}: ${WAVE_NAMES[w]}` });
        await engine.runTasks(tasks, 'apply', false, single && !install && !replace.size ? ONLY_WRITE : undefined);
        done += wave.length;
        for (const o of wave) changes.set(objectRef(o), { ref: objectRef(o), kind: kindOf(o), ...(replaced.has(objectRef(o)) ? { replaced: true } : {}) });
      }
      for (const o of toGenerate) changes.set(objectRef(o), { ref: objectRef(o), kind: existing.has(objectRef(o)) ? 'noop' : 'add' });
    }
    await mayWrite();
  } catch (e) {
    await opts.beforeWrite?.catch(() => undefined);
    if (!(e instanceof ApplyError)) throw e; // an unreachable server cannot be asked to undo (re-running converges)
    // Nothing written yet (a refused validation, or a single refused write): nothing changed.
    if (!written.length && !updated.length) {
      const said = e.lines.some((l) => l.startsWith('nothing was changed'));
      throw new ApplyError(said ? e.lines : [...e.lines, install ? 'nothing was changed: no object of the install had been written' : 'nothing was changed'], true);
    }
    // What this run created (an install, or an update's new namespaces/CRDs) is undone …
    if (!updated.length) {
      const left = await undoInstall(engine, written);
      throw new ApplyError([...e.lines.filter((l) => !l.startsWith('nothing was changed')), ...left.lines], left.complete);
    }
    // … updates already written cannot be: say exactly which (the release history can roll back).
    throw new ApplyError([
      ...e.lines.filter((l) => !l.startsWith('nothing was changed')),
      `changed before the failure (validated, then written): ${[...updated, ...written.map((w) => objectRef(w.o))].sort().join(', ')}; run deployer rollback to go back to the previous revision, or fix and re-apply`,
    ]);
  }
  return objects.map((o) => changes.get(objectRef(o))!);
}
