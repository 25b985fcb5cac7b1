/** Deletes: prune and destroy (members), an undone install (exact objects), and --replace. */
import { ApiError, resourcePath, type KubeObject, type ResourceInfo } from '@bitpin/kube-client';
import { objectRef } from '../manifest.js';
import { mapLimit } from '../pool.js';
import type { Engine } from './engine.js';
import { ApplyError, NEVER_REPLACED } from './errors.js';
import type { LiveMember } from './parent.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `DeleteOptions` in the background (owned objects follow), only that very object when its uid is given. */
function deleteOptions(uid: string | undefined): object {
  return { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', ...(uid ? { preconditions: { uid } } : {}) };
}

/** Deletes members; background propagation so owned objects follow. */
export async function deleteMembers(engine: Engine, members: readonly LiveMember[]): Promise<void> {
  await mapLimit(members, engine.concurrency, async (m) => {
    await engine.client.request('DELETE', resourcePath(m.info, m.object.metadata.namespace, m.object.metadata.name), { body: deleteOptions(undefined), allow404: true });
  });
}

/** Deletes exactly the object with `uid` (a 409 when it is another object by now); absent is fine. */
export async function deleteExact(engine: Engine, info: ResourceInfo, o: KubeObject, uid: string | undefined): Promise<void> {
  await engine.client.request('DELETE', resourcePath(info, o.metadata.namespace, o.metadata.name), { body: deleteOptions(uid), allow404: true });
}

/** Why `o` may not be replaced (deleted and re-created) over `live`, or undefined when it may. */
export function replaceRefusal(o: KubeObject, live: KubeObject | undefined): string | undefined {
  const ref = objectRef(o);
  if (NEVER_REPLACED.has(o.kind)) return `--replace=${ref}: a ${o.kind} is never deleted and re-created by the deployer (what it holds would go with it)`;
  if (o.kind === 'StatefulSet' && live) {
    const vct = (x: KubeObject) =>
      JSON.stringify(
        ((x as { spec?: { volumeClaimTemplates?: { metadata?: { name?: string }; spec?: { resources?: unknown; storageClassName?: string; accessModes?: string[] } }[] } }).spec?.volumeClaimTemplates ?? []).map((t) => [
          t.metadata?.name,
          t.spec?.resources,
          t.spec?.storageClassName ?? null,
          t.spec?.accessModes,
        ]),
      );
    if (vct(o) !== vct(live)) {
      return `--replace=${ref}: its volumeClaimTemplates change, and re-creating the StatefulSet would not change its PVCs (they keep their size and class); resize or migrate the PVCs by hand (apps/deployer/README.md, "Immutable fields")`;
    }
  }
  return undefined;
}

/**
 * `--replace`: deletes the live object — that very one (uid precondition), in the background so
 * its pods and ReplicaSets follow — waits until it is gone, and applies `o` in its place.
 */
export async function replaceObject(engine: Engine, o: KubeObject, live: LiveMember, onDeleted: () => void, timeoutMs = 60_000): Promise<void> {
  const refusal = replaceRefusal(o, live.object);
  if (refusal) throw new ApplyError([refusal]);
  const path = resourcePath(live.info, o.metadata.namespace, o.metadata.name);
  const uid = live.object.metadata.uid;
  try {
    await deleteExact(engine, live.info, o, uid);
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) throw new ApplyError([`${objectRef(o)}: --replace: it was replaced by someone else since it was read (uid ${uid} is gone); re-run to see the current state`]);
    throw e;
  }
  onDeleted();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await engine.client.get<KubeObject>(path, { allow404: true });
    if (!now || now.metadata.uid !== uid) break;
    if (Date.now() > deadline) {
      throw new ApplyError([`${objectRef(o)}: --replace: deleted, but still there after ${timeoutMs / 1000}s (finalizers: ${((now.metadata as { finalizers?: string[] }).finalizers ?? []).join(', ') || 'none'}); nothing was created in its place — re-run apply once it is gone`]);
    }
    await sleep(100);
  }
  try {
    await engine.applyOne(o, { info: live.info });
  } catch (e) {
    const why = e instanceof ApplyError ? e.lines.join('; ') : (e as Error).message.split('\n')[0];
    throw new ApplyError([`${objectRef(o)}: --replace deleted it, but creating it again failed, so it is gone now: ${why} — fix and re-apply, or run deployer rollback`]);
  }
}
