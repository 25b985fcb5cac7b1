import { DEPLOY_ANNOTATIONS } from '@bitpin/config';
import { randomBytes } from 'node:crypto';
import type { KubeClient } from './kube/client.js';
import { Discovery, resourcePath, type ResourceInfo } from './kube/discovery.js';
import { ApiError, PreflightError } from './kube/errors.js';
import {
  FIELD_MANAGER,
  LABEL_PART_OF,
  PARENT_GROUP,
  PARENT_KIND,
  PARENT_VERSION,
  TOOLING,
  ANN_TOOLING,
  applysetId,
  parentCrd,
  parentName,
  parentObject,
  readParentState,
  isUpToDate,
  stampHash,
  stateOf,
  type ParentState,
} from './inventory.js';
import { objectRef, type KubeObject } from './manifest.js';
import { mapLimit } from './pool.js';
import { toWaves, WAVE_NAMES } from './waves.js';
import { crdHealth } from './health.js';

/** A closed set of change kinds (as in kapp). */
export type ChangeKind = 'add' | 'update' | 'noop' | 'delete';

export interface Change {
  readonly ref: string;
  readonly kind: ChangeKind;
  /** Why an object is not deleted although it left the set (PVCs and namespaces are kept unless named). */
  readonly kept?: string;
}

export interface LiveMember {
  readonly ref: string;
  readonly object: KubeObject;
  readonly info: ResourceInfo;
}

export interface Progress {
  (event: { phase: string; done?: number; total?: number; message?: string }): void;
}

export interface EngineOptions {
  readonly env: string;
  readonly concurrency?: number;
  readonly forceConflicts?: boolean;
  readonly progress?: Progress;
}

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

/** One line per failed object, naming the field and what to do. */
export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  constructor(readonly lines: readonly string[]) {
    super(lines.join('\n'));
  }
}

/** Kinds never pruned unless named with --prune-allow: losing them loses data or everything inside. */
export const PROTECTED_KINDS = new Set(['Namespace', 'PersistentVolumeClaim', 'PersistentVolume', 'CustomResourceDefinition']);

/**
 * The cluster side of the deployer: discovery, inventory, server-side apply in waves, prune.
 * Objects are sent exactly as synthesized (JSON as `application/apply-patch+yaml`) with
 * `fieldValidation=Strict`, so a misspelled field fails instead of vanishing.
 */
export class Engine {
  readonly discovery: Discovery;
  private readonly concurrency: number;

  constructor(
    readonly client: KubeClient,
    private readonly opts: EngineOptions,
  ) {
    this.discovery = new Discovery(client);
    this.concurrency = opts.concurrency ?? 8;
  }

  private progress(phase: string, extra: { done?: number; total?: number; message?: string } = {}): void {
    this.opts.progress?.({ phase, ...extra });
  }

  async info(o: Pick<KubeObject, 'apiVersion' | 'kind'>): Promise<ResourceInfo> {
    const info = await this.discovery.resolve(o.apiVersion, o.kind);
    if (!info) {
      throw new ApplyError([
        `${o.kind} (${o.apiVersion}) is not served by the cluster; install its CRD first${o.apiVersion.startsWith('postgresql.cnpg.io') ? ' (CloudNativePG: kubectl apply --server-side -f https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/release-1.28/releases/cnpg-1.28.2.yaml)' : ''}`,
      ]);
    }
    return info;
  }

  /** The env's parent object, or undefined before the first apply. Refuses a parent owned by another tool. */
  async readParent(): Promise<KubeObject | undefined> {
    const crd = await this.discovery.resolveKnown(`${PARENT_GROUP}/${PARENT_VERSION}`, PARENT_KIND);
    if (!crd) return undefined;
    const parent = await this.client.get<KubeObject>(resourcePath(crd, undefined, parentName(this.opts.env)), { allow404: true });
    const tooling = parent?.metadata.annotations?.[ANN_TOOLING];
    if (parent && tooling && tooling !== TOOLING) {
      throw new ApplyError([`the inventory ${PARENT_KIND}/${parentName(this.opts.env)} belongs to "${tooling}", not ${TOOLING}; refusing to change it`]);
    }
    return parent;
  }

  /** Every live member of the set, found by label in each group-kind the set has used. */
  async listMembers(state: ParentState): Promise<Map<string, LiveMember>> {
    const id = applysetId(this.opts.env);
    const members = new Map<string, LiveMember>();
    await this.discovery.resolve('v1', 'Namespace');
    const infos: ResourceInfo[] = [];
    for (const gk of state.groupKinds) {
      const dot = gk.indexOf('.');
      const kind = dot === -1 ? gk : gk.slice(0, dot);
      const group = dot === -1 ? '' : gk.slice(dot + 1);
      const info = this.discovery.findByGroupKind(group, kind);
      if (info) infos.push(info); // a kind whose CRD is gone has no members left to prune
    }
    this.progress('inventory', { total: infos.length, done: 0 });
    await mapLimit(infos, this.concurrency, async (info) => {
      const list = await this.client.get<{ items: KubeObject[] }>(resourcePath(info), { query: { labelSelector: `${LABEL_PART_OF}=${id}` } });
      for (const item of list.items) {
        const o = { ...item, apiVersion: info.group ? `${info.group}/${info.version}` : info.version, kind: info.kind } as KubeObject;
        members.set(objectRef(o), { ref: objectRef(o), object: o, info });
      }
    });
    return members;
  }

  /** Server-side apply of one object. Returns the stored object. */
  async applyOne(o: KubeObject, opts: { dryRun?: boolean; fieldManager?: string } = {}): Promise<{ object: KubeObject }> {
    const info = await this.info(o);
    if (info.namespaced && !o.metadata.namespace) {
      throw new ApplyError([`${objectRef(o)}: ${o.kind} is namespaced but has no metadata.namespace; set it in the library that makes it`]);
    }
    const path = resourcePath(info, o.metadata.namespace, o.metadata.name);
    try {
      const stored = await this.client.request<KubeObject>('PATCH', path, {
        body: o,
        contentType: 'application/apply-patch+yaml',
        query: {
          fieldManager: opts.fieldManager ?? FIELD_MANAGER,
          fieldValidation: 'Strict',
          force: this.opts.forceConflicts ? true : undefined,
          dryRun: opts.dryRun ? 'All' : undefined,
        },
      });
      return { object: stored };
    } catch (e) {
      if (e instanceof PreflightError) throw e;
      throw new ApplyError([explainApplyError(o, e)]);
    }
  }

  /**
   * Applies the desired set: objects already stored exactly as desired (same content hash, every
   * field we send present with our value) are not sent again; the rest are first validated by a
   * server-side dry run — so bad input fails before anything is written — and then applied in
   * waves. Only new namespaces and CRDs (additive and empty) are written before validation, since
   * objects inside them cannot be dry-run until they exist.
   */
  async applyAll(given: readonly KubeObject[], live: ReadonlyMap<string, LiveMember>): Promise<Change[]> {
    const objects = given.map(stampHash);
    const changes = new Map<string, Change>();
    const toSend: KubeObject[] = [];
    const toGenerate: KubeObject[] = [];
    for (const o of objects) {
      if (o.kind === 'Secret' && o.metadata.annotations?.[DEPLOY_ANNOTATIONS.generate]) {
        // Generated once, never overwritten: an existing one (ours or made by hand) is left alone.
        if (live.has(objectRef(o)) || (await this.exists(o))) changes.set(objectRef(o), { ref: objectRef(o), kind: 'noop' });
        else toGenerate.push(o);
      } else if (isUpToDate(o, live.get(objectRef(o))?.object)) {
        changes.set(objectRef(o), { ref: objectRef(o), kind: 'noop' });
      } else {
        toSend.push(o);
      }
    }
    const kindOf = (o: KubeObject): ChangeKind => (live.has(objectRef(o)) ? 'update' : 'add');
    const handoffs = toSend.filter((o) => needsReplicasHandoff(o, live.get(objectRef(o))?.object));
    const foundation = toSend.filter((o) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition');
    const rest = toSend.filter((o) => !foundation.includes(o));

    if (foundation.length) {
      await this.runWave(foundation, 'validate', true);
      await this.runWave(foundation, 'apply', false);
      for (const o of foundation) changes.set(objectRef(o), { ref: objectRef(o), kind: kindOf(o) });
      for (const crd of foundation.filter((o) => o.kind === 'CustomResourceDefinition')) await this.waitEstablished(crd.metadata.name);
    }
    if (rest.length || toGenerate.length) {
      await this.runWave(rest, 'validate', true);
      await this.generateSecrets(toGenerate, true);
      await this.generateSecrets(toGenerate, false);
      for (const o of toGenerate) changes.set(objectRef(o), { ref: objectRef(o), kind: 'add' });
      // Replica counts we stop sending (an autoscaler takes over) are first co-owned by a
      // hand-off manager, so dropping them does not reset the workload to 1 replica.
      await mapLimit(handoffs, this.concurrency, (o) => this.handOffReplicas(o, live.get(objectRef(o))!.object));
      const waves = toWaves(rest);
      let done = foundation.length;
      for (const [w, wave] of waves.entries()) {
        if (!wave.length) continue;
        this.progress('apply', { done, total: toSend.length, message: `wave ${w + 1}/${waves.length}: ${WAVE_NAMES[w]}` });
        await this.runWave(wave, 'apply', false);
        done += wave.length;
        for (const o of wave) changes.set(objectRef(o), { ref: objectRef(o), kind: kindOf(o) });
      }
    }
    return objects.map((o) => changes.get(objectRef(o))!);
  }

  private async handOffReplicas(o: KubeObject, liveObj: KubeObject): Promise<void> {
    const replicas = (liveObj as { spec?: { replicas?: number } }).spec?.replicas;
    await this.applyOne(
      { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace }, spec: { replicas } } as KubeObject,
      { fieldManager: REPLICAS_HANDOFF_MANAGER },
    );
  }

  private async exists(o: KubeObject): Promise<boolean> {
    const info = await this.info(o);
    return Boolean(await this.client.get(resourcePath(info, o.metadata.namespace, o.metadata.name), { allow404: true }));
  }

  /** Creates generated Secrets (values from their recipe; never logged). An existing one wins a race. */
  private async generateSecrets(secrets: readonly KubeObject[], dryRun: boolean): Promise<void> {
    const failures: string[] = [];
    await mapLimit(secrets, this.concurrency, async (o) => {
      const recipe = JSON.parse(o.metadata.annotations![DEPLOY_ANNOTATIONS.generate]!) as Record<string, string>;
      const data: Record<string, string> = {};
      for (const [key, how] of Object.entries(recipe)) {
        const value = how.startsWith('literal:') ? how.slice('literal:'.length) : randomBytes(Number(how.slice('random:'.length))).toString('base64url');
        data[key] = Buffer.from(value).toString('base64');
      }
      const info = await this.info(o);
      try {
        await this.client.request('POST', resourcePath(info, o.metadata.namespace), {
          body: { ...o, data },
          query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict', dryRun: dryRun ? 'All' : undefined },
        });
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) return; // created meanwhile: keep theirs
        // Only the reason: the request body held the generated values.
        failures.push(`${objectRef(o)}: cannot create the generated Secret: ${e instanceof ApiError ? `${e.status} ${e.reason}` : (e as Error).message.split('\n')[0]}`);
      }
    });
    if (failures.length) throw new ApplyError(failures.sort());
  }

  /** Applies (or dry-runs) one wave in parallel; collects every failure into one ApplyError. */
  private async runWave(wave: readonly KubeObject[], phase: string, dryRun: boolean): Promise<void> {
    const failures: string[] = [];
    let unreachable: PreflightError | undefined;
    let done = 0;
    await mapLimit(wave, this.concurrency, async (o) => {
      try {
        await this.applyOne(o, { dryRun });
      } catch (e) {
        // The cluster itself is gone (network, credentials): one line, not one per object.
        if (e instanceof PreflightError) unreachable ??= e;
        else failures.push(...(e instanceof ApplyError ? e.lines : [`${objectRef(o)}: ${(e as Error).message}`]));
      }
      this.progress(phase, { done: ++done, total: wave.length });
    });
    if (unreachable) throw unreachable;
    if (failures.length) {
      throw new ApplyError([...failures.sort(), ...(dryRun ? ['nothing was changed by this step (server-side dry run)'] : [])]);
    }
  }

  async waitEstablished(name: string, timeoutMs = 30_000): Promise<void> {
    const info = await this.info({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const crd = await this.client.get(resourcePath(info, undefined, name));
      if (crdHealth(crd).ok) break;
      if (Date.now() > deadline) throw new ApplyError([`CustomResourceDefinition/${name}: not Established after ${timeoutMs / 1000}s`]);
      await new Promise((r) => setTimeout(r, 250));
    }
    await this.discovery.refresh();
  }

  /** Ensures the parent CRD exists and writes the parent with `state`. */
  async writeParent(context: string, state: ParentState): Promise<void> {
    const crd = parentCrd();
    if (!this.discovery.has(`${PARENT_GROUP}/${PARENT_VERSION}`, PARENT_KIND)) {
      await this.applyOne(crd);
      await this.waitEstablished(crd.metadata.name);
    }
    await this.applyOne(parentObject(this.opts.env, context, state));
  }

  /** Deletes members; background propagation so owned objects follow. */
  async deleteMembers(members: readonly LiveMember[]): Promise<void> {
    await mapLimit(members, this.concurrency, async (m) => {
      await this.client.request('DELETE', resourcePath(m.info, m.object.metadata.namespace, m.object.metadata.name), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
        allow404: true,
      });
    });
  }
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
export async function plan(engine: Engine, desired: readonly KubeObject[], pruneAllow: ReadonlySet<string> = new Set()): Promise<Plan> {
  const desiredState = stateOf(desired);
  // The parent and the desired kinds' members are read together; kinds only the old set used follow.
  const [parent, live] = await Promise.all([engine.readParent(), engine.listMembers(desiredState)]);
  const previous = readParentState(parent);
  const extra = previous.groupKinds.filter((gk) => !desiredState.groupKinds.includes(gk));
  if (extra.length) for (const [k, v] of await engine.listMembers({ groupKinds: extra, namespaces: [] })) live.set(k, v);
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


function explainApplyError(o: KubeObject, e: unknown): string {
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
  if (e.status === 422 || e.status === 400) {
    const causes = (e.details?.causes ?? []).map((c) => `${c.field ?? ''} ${c.message ?? ''}`.trim());
    return `${ref}: invalid: ${causes.length ? causes.join('; ') : e.message}`;
  }
  if (e.status === 403) return `${ref}: forbidden for this kube user: ${e.message}`;
  if (e.status === 404 && /namespaces "([^"]+)" not found/.test(e.message)) return `${ref}: ${e.message}; the namespace must be part of the set or exist`;
  return `${ref}: ${e.status} ${e.reason}: ${e.message}`;
}
