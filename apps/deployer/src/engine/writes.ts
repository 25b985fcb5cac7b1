/** Writes that are not a plain server-side apply: generated Secrets and replica-count hand-offs. */
import { DEPLOY_ANNOTATIONS } from '@bitpin/config';
import { ApiError, METADATA_ONLY, PreflightError, resourcePath, type KubeObject } from '@bitpin/kube-client';
import { randomBytes } from 'node:crypto';
import { FIELD_MANAGER } from '../inventory.js';
import { objectRef } from '../manifest.js';
import type { Engine } from './engine.js';
import { ApplyError } from './errors.js';

/** Field manager that keeps a replica count alive when the deployer stops sending it. */
export const REPLICAS_HANDOFF_MANAGER = 'bitpin-deployer-replicas-handoff';

/**
 * True when a workload's desired object no longer sets spec.replicas while the live one has a
 * count that only the deployer owns: dropping it would let the API server default it to 1
 * (the documented SSA pitfall when an HPA takes over a Deployment).
 */
export function needsReplicasHandoff(desired: KubeObject, liveObj: KubeObject | undefined): boolean {
  if (!liveObj || !['Deployment', 'StatefulSet'].includes(desired.kind)) return false;
  if ((desired as { spec?: { replicas?: number } }).spec?.replicas !== undefined) return false;
  const managers = ((liveObj.metadata as { managedFields?: { manager: string; fieldsV1?: any }[] }).managedFields ?? []).filter(
    (m) => m.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined,
  );
  return managers.length > 0 && managers.every((m) => m.manager === FIELD_MANAGER);
}

/** Co-owns the live replica count under {@link REPLICAS_HANDOFF_MANAGER}, so dropping ours keeps it. */
export async function handOffReplicas(engine: Engine, o: KubeObject, liveObj: KubeObject): Promise<void> {
  const replicas = (liveObj as { spec?: { replicas?: number } }).spec?.replicas;
  await engine.applyOne(
    { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace }, spec: { replicas } } as KubeObject,
    { fieldManager: REPLICAS_HANDOFF_MANAGER },
  );
}

/**
 * Creates (or dry-runs creating) a generated Secret, values from its recipe, never logged.
 * 'exists' when one is already there (made earlier, by hand, or meanwhile): it is kept.
 */
export async function generateSecret(engine: Engine, o: KubeObject, dryRun: boolean): Promise<'created' | 'exists'> {
  const recipe = JSON.parse(o.metadata.annotations![DEPLOY_ANNOTATIONS.generate]!) as Record<string, string>;
  const data: Record<string, string> = {};
  for (const [key, how] of Object.entries(recipe)) {
    const value = how.startsWith('literal:') ? how.slice('literal:'.length) : randomBytes(Number(how.slice('random:'.length))).toString('base64url');
    data[key] = Buffer.from(value).toString('base64');
  }
  const info = await engine.info(o);
  try {
    await engine.client.request('POST', resourcePath(info, o.metadata.namespace), {
      body: { ...o, data },
      accept: METADATA_ONLY, // the answer would repeat the generated values
      query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict', dryRun: dryRun ? 'All' : undefined },
    });
    return 'created';
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) return 'exists';
    if (e instanceof PreflightError) throw e;
    // Only the reason: the request body held the generated values.
    throw new ApplyError([`${objectRef(o)}: cannot create the generated Secret: ${e instanceof ApiError ? `${e.status} ${e.reason}` : (e as Error).message.split('\n')[0]}`]);
  }
}
