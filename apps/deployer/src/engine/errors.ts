import { ApiError, type KubeObject } from '@bitpin/kube-client';
import { objectRef } from '../manifest.js';

/** One line per failed object, naming the field and what to do. */
export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  constructor(
    readonly lines: readonly string[],
    /** Set when the failed step was an install whose writes were all undone (see apply.ts). */
    readonly rolledBack = false,
    /** The API server's error behind a single object's line (see {@link onlyImmutable}). */
    options?: { cause?: unknown },
  ) {
    super(lines.join('\n'), options);
  }
}

/** The end of an error when the refused object was the only one to write (so not dry-run first). */
export const ONLY_WRITE = 'nothing was changed: it was the only object to write';

/** The API server's answer when a whole resource type is not served (not an object that is missing). */
export function isUnknownResource(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404 && !e.details?.name && /could not find the requested resource/.test(e.message);
}

/** How the API server says a field cannot change (a StatefulSet says it of its whole spec but a few fields). */
const IMMUTABLE = /immutable|updates to \w+ spec for fields other than/;

/** The fields a 422 names as immutable (`spec.selector`, `spec.template` of a Job …); empty when it names none. */
export function immutableFields(e: unknown): string[] {
  if (!(e instanceof ApiError) || e.status !== 422) return [];
  const causes = e.details?.causes ?? [];
  return causes.filter((c) => IMMUTABLE.test(c.message ?? '')).map((c) => c.field ?? '?');
}

/** True when every cause of a 422 is an immutable field: the object is otherwise valid. */
export function onlyImmutable(e: unknown): boolean {
  const causes = e instanceof ApiError ? (e.details?.causes ?? []) : [];
  return immutableFields(e).length > 0 && immutableFields(e).length === causes.length;
}

/** Kinds whose replacement loses data: never deleted and re-created by --replace. */
export const NEVER_REPLACED = new Set(['PersistentVolumeClaim', 'PersistentVolume', 'Namespace', 'CustomResourceDefinition']);

/** One line for a refused apply: the object, what the API server said, and what to do. */
export function explainApplyError(o: KubeObject, e: unknown): string {
  const ref = objectRef(o);
  if (!(e instanceof ApiError)) return `${ref}: ${(e as Error).message}`;
  if (e.status === 409 && e.reason === 'Conflict') {
    const causes = e.details?.causes ?? [];
    const parts = causes.map((c) => {
      const m = /conflict with "([^"]+)"/.exec(c.message ?? '');
      return `field ${c.field ?? '?'} is owned by "${m?.[1] ?? 'another manager'}"`;
    });
    return `${ref}: ${parts.join('; ') || e.message}; re-run with --force-conflicts to take ${parts.length > 1 ? 'them' : 'it'} over`;
  }
  if (/strict decoding error|unknown field|field not declared in schema/.test(e.message)) {
    const unknown = [
      ...[...e.message.matchAll(/unknown field "([^"]+)"/g)].map((m) => m[1]!),
      ...[...e.message.matchAll(/\.([\w.[\]"=/-]+): field not declared in schema/g)].map((m) => m[1]!),
    ];
    return `${ref}: the API server rejects ${unknown.length ? `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}` : `a field: ${e.message}`} (fieldValidation=Strict); fix the library that makes it`;
  }
  if (e.status === 403 && /violates PodSecurity/.test(e.message)) {
    return `${ref}: rejected by Pod Security admission: ${e.message.replace(/^.*violates PodSecurity/, 'violates PodSecurity')}`;
  }
  const immutable = immutableFields(e);
  if (immutable.length) {
    const fields =
      o.kind === 'StatefulSet' && immutable.includes('spec')
        ? 'a StatefulSet field other than replicas, template, updateStrategy, ordinals, persistentVolumeClaimRetentionPolicy and minReadySeconds changed, and those are immutable'
        : `field${immutable.length > 1 ? 's' : ''} ${immutable.join(', ')} ${immutable.length > 1 ? 'are' : 'is'} immutable`;
    if (NEVER_REPLACED.has(o.kind)) {
      return `${ref}: ${fields}; it is never deleted and re-created by the deployer (its data would go with it): migrate by hand (see "Immutable fields" in apps/deployer/README.md) or keep the old value`;
    }
    const other = (e.details?.causes ?? []).filter((c) => !IMMUTABLE.test(c.message ?? '')).map((c) => `${c.field ?? ''} ${c.message ?? ''}`.trim());
    const vct = o.kind === 'StatefulSet' ? ' (refused when its volumeClaimTemplates change: its PVCs would not follow)' : '';
    return `${ref}: ${fields}${other.length ? `, and invalid: ${other.join('; ')}` : ''}; to delete and re-create it (what it runs restarts) re-run with --replace=${ref}${vct}`;
  }
  if (e.status === 422 || e.status === 400) {
    const causes = (e.details?.causes ?? []).map((c) => `${c.field ?? ''} ${c.message ?? ''}`.trim());
    return `${ref}: invalid: ${causes.length ? causes.join('; ') : e.message}`;
  }
  if (e.status === 403) return `${ref}: forbidden for this kube user: ${e.message}`;
  if (e.status === 404 && /namespaces "([^"]+)" not found/.test(e.message)) return `${ref}: ${e.message}; the namespace must be part of the set or exist`;
  return `${ref}: ${e.status} ${e.reason}: ${e.message}`;
}
