import { Discovery, METADATA_ONLY, PreflightError, resourcePath, type KubeClient, type KubeObject, type ResourceInfo, type ServerVersion } from '@bitpin/kube-client';
import { discoveryCacheDir } from '../kube/cache.js';
import { FIELD_MANAGER } from '../inventory.js';
import { objectRef } from '../manifest.js';
import { DEFAULT_CONCURRENCY, mapLimit } from '../pool.js';
import { ApplyError, explainApplyError, isUnknownResource } from './errors.js';

export type { ServerVersion };

export interface Progress {
  (event: { phase: string; done?: number; total?: number; message?: string }): void;
}

export interface EngineOptions {
  readonly env: string;
  readonly concurrency?: number;
  readonly forceConflicts?: boolean;
  readonly progress?: Progress;
}

/** One request (or a few) on behalf of one object, run by {@link Engine.runTasks}. */
/** A Service's write, in request-body bytes of the same API server time (see runTasks). */
const SERVICE_COST = 1 << 20;

export interface Task {
  readonly ref: string;
  readonly run: () => Promise<unknown>;
  /** Request body size: a wave sends its largest objects first, so its tail is short requests. */
  readonly size?: number;
}

/**
 * The deployer's connection to one env's cluster: discovery, server-side apply of one object,
 * bounded-concurrency task runs, and the API server's warnings. Everything else is a step built
 * on it, each in its own file, in the order an apply runs them:
 *
 *   plan.ts     what the set would change (inventory read by parent.ts; nothing written)
 *   apply.ts    validate (server-side dry run) → write in waves, install or update
 *   undo.ts     an install refused midway is deleted again
 *   waiters.ts  CRDs Established, namespaces gone (rollouts: ../wait.ts)
 *   deletes.ts  prune, destroy, --replace
 *   parent.ts   the inventory parent (ApplySet) read and written around all of it
 *
 * Objects are sent exactly as synthesized (JSON as `application/apply-patch+yaml`) with
 * `fieldValidation=Strict`, so a misspelled field fails instead of vanishing.
 */
export class Engine {
  readonly discovery: Discovery;
  readonly concurrency: number;
  /** The API server's warnings (`Warning` headers: PodSecurity, deprecations …), per object, once each. */
  readonly warnings = new Map<string, Set<string>>();
  /** Each object's JSON, made once: the dry run and the write send the same bytes. */
  private readonly bodies = new WeakMap<KubeObject, string>();

  constructor(
    readonly client: KubeClient,
    readonly opts: EngineOptions & { readonly discoveryCacheDir?: string | undefined },
  ) {
    this.discovery = new Discovery(client, {
      cacheDir: 'discoveryCacheDir' in opts ? opts.discoveryCacheDir : discoveryCacheDir(),
    });
    this.concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  }

  get env(): string {
    return this.opts.env;
  }

  /** The server's version, read with discovery (from its disk cache when fresh). */
  serverVersion(): Promise<ServerVersion> {
    return this.discovery.serverVersion();
  }

  /** Discovery from the disk cache when it is fresh for this server version, else from the server. */
  async discover(): Promise<void> {
    await this.discovery.ensure();
  }

  progress(phase: string, extra: { done?: number; total?: number; message?: string } = {}): void {
    this.opts.progress?.({ phase, ...extra });
  }

  /** Every warning so far as `{ ref, text }`, in object order. */
  warningList(): { ref: string; text: string }[] {
    return [...this.warnings.entries()].sort(([a], [b]) => a.localeCompare(b)).flatMap(([ref, texts]) => [...texts].map((text) => ({ ref, text })));
  }

  private noteWarnings(ref: string, texts: readonly string[]): void {
    const seen = this.warnings.get(ref) ?? new Set<string>();
    for (const t of texts) seen.add(t);
    this.warnings.set(ref, seen);
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

  bodyOf(o: KubeObject): string {
    let body = this.bodies.get(o);
    if (body === undefined) this.bodies.set(o, (body = JSON.stringify(o)));
    return body;
  }

  /** Server-side apply of one object. Returns the stored object (its metadata only unless `full`). */
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
      throw new ApplyError([explainApplyError(o, e)], false, { cause: e });
    }
  }

  /** Runs tasks with bounded concurrency; collects every failure into one ApplyError (`note` ends it). */
  async runTasks(tasks: readonly Task[], phase: string, dryRun: boolean, note?: string): Promise<void> {
    const failures: string[] = [];
    let unreachable: PreflightError | undefined;
    let done = 0;
    // Longest first, so a wave's tail is short requests: Services (a cluster IP to allocate, their
    // EndpointSlices made at once) take the API server 3-5x a ConfigMap's time here, whatever their size.
    const cost = (t: Task) => (t.size ?? 0) + (t.ref.startsWith('Service/') ? SERVICE_COST : 0);
    const ordered = [...tasks].sort((a, b) => cost(b) - cost(a));
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
}
