import { DEPLOY_ANNOTATIONS } from '@bitpin/config';
import { randomBytes } from 'node:crypto';
import { ApiError, Discovery, METADATA_ONLY, PreflightError, resourcePath, type KubeClient, type KubeObject, type ResourceInfo, type ServerVersion } from '@bitpin/kube-client';
import { discoveryCacheDir } from './kube/cache.js';
import {
  FIELD_MANAGER,
  LABEL_PART_OF,
  PARENT_GROUP,
  PARENT_KIND,
  PARENT_RESOURCE,
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
import { objectRef, sortForApply } from './manifest.js';
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

interface Task {
  readonly ref: string;
  readonly run: () => Promise<unknown>;
  /** Request body size: a wave sends its largest objects first, so its tail is short requests. */
  readonly size?: number;
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

/** The end of an error when the refused object was the only one to write (so not dry-run first). */
const ONLY_WRITE = 'nothing was changed: it was the only object to write';

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
  constructor(
    readonly lines: readonly string[],
    /** Set when the failed step was an install whose writes were all undone (see Engine.applyAll). */
    readonly rolledBack = false,
  ) {
    super(lines.join('\n'));
  }
}

/**
 * An object an install wrote: created by it (undone by deleting it), or found already there —
 * made by someone else, or ours but missing from the inventory — which cannot be put back as it
 * was (its earlier content is not known), so it is left as applied and named.
 */
interface Written {
  readonly o: KubeObject;
  readonly info: ResourceInfo;
  readonly uid: string | undefined;
  readonly how: 'created' | 'existed';
}

/** The parent kind's resource: the deployer owns it, so it is reached without discovery. */
export const PARENT_INFO: ResourceInfo = { group: PARENT_GROUP, version: PARENT_VERSION, kind: PARENT_KIND, resource: PARENT_RESOURCE, namespaced: false };
/** Namespaces (core v1). */
const NAMESPACE_INFO: ResourceInfo = { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespaced: false };
/** CustomResourceDefinitions (built in since 1.16). */
export const CRD_INFO: ResourceInfo = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', resource: 'customresourcedefinitions', namespaced: false };

/** The API server's answer when a whole resource type is not served (not an object that is missing). */
function isUnknownResource(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404 && !e.details?.name && /could not find the requested resource/.test(e.message);
}

export type { ServerVersion };

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
  /** The API server's warnings (`Warning` headers: PodSecurity, deprecations …), per object, once each. */
  readonly warnings = new Map<string, Set<string>>();

  private noteWarnings(ref: string, texts: readonly string[]): void {
    const seen = this.warnings.get(ref) ?? new Set<string>();
    for (const t of texts) seen.add(t);
    this.warnings.set(ref, seen);
  }

  /** Every warning so far as `{ ref, text }`, in object order. */
  warningList(): { ref: string; text: string }[] {
    return [...this.warnings.entries()].sort(([a], [b]) => a.localeCompare(b)).flatMap(([ref, texts]) => [...texts].map((text) => ({ ref, text })));
  }

  /** Each object's JSON, made once: the dry run and the write send the same bytes. */
  private readonly bodies = new WeakMap<KubeObject, string>();

  constructor(
    readonly client: KubeClient,
    private readonly opts: EngineOptions & { readonly discoveryCacheDir?: string | undefined },
  ) {
    this.discovery = new Discovery(client, {
      cacheDir: 'discoveryCacheDir' in opts ? opts.discoveryCacheDir : discoveryCacheDir(),
    });
    this.concurrency = opts.concurrency ?? 8;
  }

  /** The server's version, read with discovery (from its disk cache when fresh). */
  serverVersion(): Promise<ServerVersion> {
    return this.discovery.serverVersion();
  }

  /** Discovery from the disk cache when it is fresh for this server version, else from the server. */
  async discover(): Promise<void> {
    await this.discovery.ensure();
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
    // 404: no such parent, or no parent CRD at all.
    return this.ownParent(await this.client.get<KubeObject>(resourcePath(PARENT_INFO, undefined, parentName(this.opts.env)), { allow404: true }));
  }

  /** Every env's parent in the cluster, in one request; `served` is false when the parent CRD is not installed. */
  async listParents(): Promise<{ served: boolean; items: KubeObject[] }> {
    const list = await this.client.get<{ items: KubeObject[] }>(resourcePath(PARENT_INFO), { allow404: true });
    const apiVersion = `${PARENT_GROUP}/${PARENT_VERSION}`;
    return { served: list !== undefined, items: (list?.items ?? []).map((p) => ({ ...p, apiVersion, kind: PARENT_KIND })) };
  }

  /** This env's parent (from {@link listParents}), refused when another tool owns it. */
  ownParent(parent: KubeObject | undefined): KubeObject | undefined {
    const tooling = parent?.metadata.annotations?.[ANN_TOOLING];
    if (parent && tooling && tooling !== TOOLING) {
      throw new ApplyError([`the inventory ${PARENT_KIND}/${parentName(this.opts.env)} belongs to "${tooling}", not ${TOOLING}; refusing to change it`]);
    }
    return parent;
  }

  /** One kind's members (by the set's label); undefined when the resource type is not served (404). */
  listKind(info: ResourceInfo): Promise<{ items: KubeObject[] } | undefined> {
    return this.client.get<{ items: KubeObject[] }>(resourcePath(info), { query: { labelSelector: `${LABEL_PART_OF}=${applysetId(this.opts.env)}` }, allow404: true });
  }

  /** Every live member of the set, found by label in each group-kind the set has used (one LIST each, all at once). */
  async listMembers(state: ParentState): Promise<Map<string, LiveMember>> {
    const members = new Map<string, LiveMember>();
    const kinds: { gk: string; info: ResourceInfo }[] = [];
    for (const gk of state.groupKinds) {
      const dot = gk.indexOf('.');
      const kind = dot === -1 ? gk : gk.slice(0, dot);
      const group = dot === -1 ? '' : gk.slice(dot + 1);
      const info = await this.discovery.resolveGroupKind(group, kind);
      if (info) kinds.push({ gk, info }); // a kind whose CRD is gone has no members left to prune
    }
    this.progress('inventory', { total: kinds.length, done: 0 });
    let stale = false;
    await mapLimit(kinds, Math.max(this.concurrency, kinds.length), async ({ info }) => {
      const list = await this.listKind(info);
      // The whole resource type is gone (its CRD was deleted since discovery was cached): no members.
      if (!list) stale = true;
      for (const item of list?.items ?? []) {
        const o = { ...item, apiVersion: info.group ? `${info.group}/${info.version}` : info.version, kind: info.kind } as KubeObject;
        members.set(objectRef(o), { ref: objectRef(o), object: o, info });
      }
    });
    if (stale) await this.discovery.invalidate();
    return members;
  }

  /** Server-side apply of one object. Returns the stored object. */
  async applyOne(
    o: KubeObject,
    opts: {
      dryRun?: boolean;
      fieldManager?: string;
      info?: ResourceInfo;
      response?: { status?: number; retried?: boolean };
      /** Return the whole stored object (diff); otherwise only its metadata comes back. */
      full?: boolean;
    } = {},
    retried = false,
  ): Promise<{ object: KubeObject; info: ResourceInfo }> {
    const info = opts.info ?? (await this.info(o));
    if (info.namespaced && !o.metadata.namespace) {
      throw new ApplyError([`${objectRef(o)}: ${o.kind} is namespaced but has no metadata.namespace; set it in the library that makes it`]);
    }
    const path = resourcePath(info, o.metadata.namespace, o.metadata.name);
    const response: { status?: number; retried?: boolean; warnings?: string[] } = opts.response ?? {};
    try {
      const stored = await this.client.request<KubeObject>('PATCH', path, {
        body: this.bodyOf(o),
        contentType: 'application/apply-patch+yaml',
        ...(opts.full ? {} : { accept: METADATA_ONLY }),
        query: {
          fieldManager: opts.fieldManager ?? FIELD_MANAGER,
          fieldValidation: 'Strict',
          force: this.opts.forceConflicts ? true : undefined,
          dryRun: opts.dryRun ? 'All' : undefined,
        },
        response,
      });
      if (response.warnings?.length) this.noteWarnings(objectRef(o), response.warnings);
      return { object: stored, info };
    } catch (e) {
      if (e instanceof PreflightError) throw e;
      if (!retried && !opts.info && isUnknownResource(e) && this.discovery.cachedOnly) {
        // The cached discovery named a resource the server no longer has: ask the server once.
        await this.discovery.invalidate();
        return this.applyOne(o, opts, true);
      }
      throw new ApplyError([explainApplyError(o, e)]);
    }
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
   * `beforeWrite` (the inventory parent's write) is awaited before the first write.
   */
  async applyAll(
    given: readonly KubeObject[],
    live: ReadonlyMap<string, LiveMember>,
    beforeWrite?: Promise<void>,
    /** {@link pendingChanges} of `given` over `live`, when the caller has it already. */
    pending: PendingChanges = pendingChanges(given, live),
  ): Promise<Change[]> {
    const { objects, changes, toSend, toGenerate } = pending;
    const kindOf = (o: KubeObject): ChangeKind => (live.has(objectRef(o)) ? 'update' : 'add');
    const handoffs = toSend.filter((o) => needsReplicasHandoff(o, live.get(objectRef(o))?.object));
    const install = toSend.every((o) => !live.has(objectRef(o)));
    const single = toSend.length === 1 && !toGenerate.length && !handoffs.length;
    const isFoundation = (o: KubeObject) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition';
    // An install writes every namespace and CRD first. An update writes first only the namespaces
    // and CRDs it creates (what is inside them cannot be validated before they exist); a change to
    // an existing namespace is validated with everything else and written in the first wave.
    const foundation = toSend.filter((o) => isFoundation(o) && (install || !live.has(objectRef(o))));
    const rest = toSend.filter((o) => !foundation.includes(o));
    // Objects that can only be dry-run once the new namespaces/CRDs exist.
    const newNamespaces = new Set(foundation.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
    const newKinds = new Set(
      foundation
        .filter((o) => o.kind === 'CustomResourceDefinition')
        .map((o) => `${(o as { spec?: { group?: string; names?: { kind?: string } } }).spec?.group}/${(o as { spec?: { names?: { kind?: string } } }).spec?.names?.kind}`),
    );
    const waitsForFoundation = (o: KubeObject) =>
      Boolean(o.metadata.namespace && newNamespaces.has(o.metadata.namespace)) || newKinds.has(`${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}/${o.kind}`);
    const written: Written[] = [];
    const existing = new Set<string>();
    let writable = false;
    const mayWrite = async () => {
      if (writable) return;
      writable = true;
      await beforeWrite;
    };
    /** A write that creates (install, new namespaces/CRDs of an update), remembered so it can be undone. */
    const write = async (o: KubeObject): Promise<void> => {
      const response: { status?: number; retried?: boolean } = {};
      const { object, info } = await this.applyOne(o, { response });
      // Only a 201 proves this run created it (a 200 after a retried request may be our own first
      // attempt, or not): what is not proven is never deleted.
      written.push({ o, info, uid: object.metadata.uid, how: response.status === 201 ? 'created' : 'existed' });
    };
    /** An update's write, remembered so a failure can say what it had changed. */
    const updated: string[] = [];
    const update = async (o: KubeObject): Promise<void> => {
      await this.applyOne(o);
      updated.push(objectRef(o));
    };
    const generate = async (o: KubeObject): Promise<void> => {
      if ((await this.generateSecret(o, false)) === 'exists') existing.add(objectRef(o));
      else written.push({ o, info: await this.info(o), uid: undefined, how: 'created' });
    };
    const dryRunTasks = (list: readonly KubeObject[], secrets: readonly KubeObject[]): Task[] => [
      ...list.map((o) => ({ ref: objectRef(o), run: () => this.applyOne(o, { dryRun: true }), size: this.bodyOf(o).length })),
      ...secrets.map((o) => ({
        ref: objectRef(o),
        run: async () => {
          if ((await this.generateSecret(o, true)) === 'exists') existing.add(objectRef(o));
        },
      })),
    ];

    try {
      // 1. An update validates every change it can before its first write — namespaces included —
      //    so a refusal anywhere changes nothing (a single object is its own validation: one write
      //    is atomic).
      if (!install && !single) {
        await this.runTasks(
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
        await this.runTasks(
          foundation.map((o) => ({ ref: objectRef(o), run: () => write(o), size: this.bodyOf(o).length })),
          'apply',
          false,
          single && !install ? ONLY_WRITE : undefined,
        );
        for (const o of foundation) changes.set(objectRef(o), { ref: objectRef(o), kind: kindOf(o) });
        for (const crd of foundation.filter((o) => o.kind === 'CustomResourceDefinition')) await this.waitEstablished(crd.metadata.name);
        // 3. What lives inside them is validated now; a refusal undoes step 2.
        const inside = rest.filter(waitsForFoundation);
        const secretsInside = toGenerate.filter(waitsForFoundation);
        if (!install && (inside.length || secretsInside.length)) await this.runTasks(dryRunTasks(inside, secretsInside), 'validate', true);
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
            .map((o) => ({ ref: objectRef(o), run: () => (install ? generate(o) : this.generateSecret(o, false).then(() => undefined)) })),
          ...handoffs.map((o) => ({ ref: objectRef(o), run: () => this.handOffReplicas(o, live.get(objectRef(o))!.object) })),
        ];
        const waves = toWaves(rest);
        let done = foundation.length;
        for (const [w, wave] of waves.entries()) {
          const tasks: Task[] = [
            ...wave.map((o) => ({ ref: objectRef(o), run: () => (install ? write(o) : update(o)), size: this.bodyOf(o).length })),
            ...(w === 1 ? early : []),
          ];
          if (!tasks.length) continue;
          this.progress('apply', { done, total: toSend.length, message: `wave ${w + 1}/${waves.length}: ${WAVE_NAMES[w]}` });
          await this.runTasks(tasks, 'apply', false, single && !install ? ONLY_WRITE : undefined);
          done += wave.length;
          for (const o of wave) changes.set(objectRef(o), { ref: objectRef(o), kind: kindOf(o) });
        }
        for (const o of toGenerate) changes.set(objectRef(o), { ref: objectRef(o), kind: existing.has(objectRef(o)) ? 'noop' : 'add' });
      }
      await mayWrite();
    } catch (e) {
      await beforeWrite?.catch(() => undefined);
      if (!(e instanceof ApplyError)) throw e; // an unreachable server cannot be asked to undo (re-running converges)
      // Nothing written yet (a refused validation, or a single refused write): nothing changed.
      if (!written.length && !updated.length) {
        const said = e.lines.some((l) => l.startsWith('nothing was changed'));
        throw new ApplyError(said ? e.lines : [...e.lines, install ? 'nothing was changed: no object of the install had been written' : 'nothing was changed'], true);
      }
      // What this run created (an install, or an update's new namespaces/CRDs) is undone …
      if (!updated.length) {
        const left = await this.rollback(written);
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

  /**
   * Undoes an install's writes, the last wave first: objects it created are deleted (only that
   * very object: a uid precondition), namespaces last and waited for (a terminating namespace
   * refuses the next apply's objects). Objects that existed before it are left as applied.
   */
  private async rollback(written: readonly Written[], timeoutMs = 120_000): Promise<{ complete: boolean; lines: string[] }> {
    const failed: string[] = [];
    const created = written.filter((w) => w.how === 'created');
    const existed = written.filter((w) => w.how === 'existed');
    const namespaces = created.filter((w) => w.o.kind === 'Namespace');
    const inside = sortForApply(created.filter((w) => w.o.kind !== 'Namespace').map((w) => w.o))
      .reverse()
      .map((o) => created.find((w) => w.o === o)!);
    const undo = async (w: Written) => {
      try {
        await this.client.request('DELETE', resourcePath(w.info, w.o.metadata.namespace, w.o.metadata.name), {
          body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', ...(w.uid ? { preconditions: { uid: w.uid } } : {}) },
          allow404: true,
        });
      } catch (e) {
        failed.push(`${objectRef(w.o)} (${(e as Error).message.split('\n')[0]})`);
      }
    };
    this.progress('rollback', { message: `undoing the install: deleting the ${created.length} objects it created` });
    await mapLimit(inside, this.concurrency, undo);
    await mapLimit(namespaces, this.concurrency, undo);
    try {
      const left = await this.waitNamespacesGone(
        namespaces.map((w) => w.o.metadata.name),
        timeoutMs,
        (name) => this.progress('rollback', { message: `waiting for namespace ${name} to terminate` }),
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

  private bodyOf(o: KubeObject): string {
    let body = this.bodies.get(o);
    if (body === undefined) this.bodies.set(o, (body = JSON.stringify(o)));
    return body;
  }

  private async handOffReplicas(o: KubeObject, liveObj: KubeObject): Promise<void> {
    const replicas = (liveObj as { spec?: { replicas?: number } }).spec?.replicas;
    await this.applyOne(
      { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace }, spec: { replicas } } as KubeObject,
      { fieldManager: REPLICAS_HANDOFF_MANAGER },
    );
  }

  /**
   * Creates (or dry-runs creating) a generated Secret, values from its recipe, never logged.
   * 'exists' when one is already there (made earlier, by hand, or meanwhile): it is kept.
   */
  private async generateSecret(o: KubeObject, dryRun: boolean): Promise<'created' | 'exists'> {
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

  /** Applies (or dry-runs) one wave in parallel; collects every failure into one ApplyError. */
  private runWave(wave: readonly KubeObject[], phase: string, dryRun: boolean, note?: string): Promise<void> {
    return this.runTasks(
      wave.map((o) => ({ ref: objectRef(o), run: () => this.applyOne(o, { dryRun }), size: this.bodyOf(o).length })),
      phase,
      dryRun,
      note,
    );
  }

  /** Runs tasks with bounded concurrency; collects every failure into one ApplyError (`note` ends it). */
  private async runTasks(tasks: readonly Task[], phase: string, dryRun: boolean, note?: string): Promise<void> {
    const failures: string[] = [];
    let unreachable: PreflightError | undefined;
    let done = 0;
    const ordered = [...tasks].sort((a, b) => (b.size ?? 0) - (a.size ?? 0));
    await mapLimit(ordered, this.concurrency, async (t) => {
      try {
        await t.run();
      } catch (e) {
        // The cluster itself is gone (network, credentials): one line, not one per object.
        if (e instanceof PreflightError) unreachable ??= e;
        else failures.push(...(e instanceof ApplyError ? e.lines : [`${t.ref}: ${(e as Error).message}`]));
      }
      this.progress(phase, { done: ++done, total: tasks.length });
    });
    if (unreachable) throw unreachable;
    if (failures.length) {
      const last = note ?? (dryRun ? 'nothing was changed by this step (server-side dry run)' : undefined);
      throw new ApplyError([...failures.sort(), ...(last ? [last] : [])]);
    }
  }

  /** Waits for a CRD to be Established; then refreshes discovery (unless only the parent kind, reached by its static path, needs it). */
  async waitEstablished(name: string, timeoutMs = 30_000, refreshDiscovery = true): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const crd = await this.client.get(resourcePath(CRD_INFO, undefined, name));
      if (crdHealth(crd).ok) break;
      if (Date.now() > deadline) throw new ApplyError([`CustomResourceDefinition/${name}: not Established after ${timeoutMs / 1000}s`]);
      await new Promise((r) => setTimeout(r, 250));
    }
    if (refreshDiscovery) await this.discovery.refresh();
  }

  /** Writes the parent with `state`, installing the parent CRD first when it is not served (`crdServed`, from {@link listParents}). */
  async writeParent(context: string, state: ParentState, crdServed: boolean): Promise<void> {
    if (!crdServed) {
      const crd = parentCrd();
      await this.applyOne(crd, { info: CRD_INFO });
      await this.waitEstablished(crd.metadata.name, 30_000, false);
    }
    await this.applyOne(parentObject(this.opts.env, context, state), { info: PARENT_INFO });
  }

  /**
   * Waits until the named namespaces are gone — a terminating namespace refuses new objects, so a
   * following apply would fail — and returns those still there at the deadline.
   */
  async waitNamespacesGone(names: readonly string[], timeoutMs: number, onWait?: (name: string) => void): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    const left: string[] = [];
    for (const name of names) {
      while (await this.client.get(resourcePath(NAMESPACE_INFO, undefined, name), { allow404: true })) {
        if (Date.now() > deadline) {
          left.push(name);
          break;
        }
        onWait?.(name);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    return left;
  }

  /** Deletes this env's parent (the inventory); absent is fine. */
  async deleteParent(): Promise<void> {
    await this.client.request('DELETE', resourcePath(PARENT_INFO, undefined, parentName(this.opts.env)), { allow404: true });
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

/**
 * What an apply of `given` over `live` would send: objects not stored exactly as desired (same
 * content hash, every field we send present with our value), and generated Secrets not there yet.
 * No request: it compares with the live members already read.
 */
export interface PendingChanges {
  /** `given`, each stamped with its content hash. */
  readonly objects: KubeObject[];
  /** The noops so far; {@link Engine.applyAll} adds what it writes. */
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
  const parent = known ? known.parent : await engine.readParent();
  const previous = readParentState(parent);
  // The parent is written with every group-kind before any member of it is (and narrowed only
  // after pruning), so members exist only in the kinds it lists — and none without a parent.
  const live = known?.live ? await known.live : previous.groupKinds.length ? await engine.listMembers(previous) : new Map<string, LiveMember>();
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
