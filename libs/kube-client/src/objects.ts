import { KubeClient, type KubeClientOptions, type RequestOptions } from './client.js';
import { readKubeconfig } from './config.js';
import { Discovery, resourcePath, type ResourceInfo } from './discovery.js';
import { ApiError } from './errors.js';
import type { KubeList, KubeObject } from './types.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface ApplyOptions {
  /** @default the client's `fieldManager` */
  readonly fieldManager?: string;
  /** Take over fields other managers own. @default true */
  readonly force?: boolean;
  readonly dryRun?: boolean;
  /** @default 'Strict' */
  readonly fieldValidation?: FieldValidation;
}

export interface CreateOptions {
  readonly dryRun?: boolean;
  /** @default 'Strict' */
  readonly fieldValidation?: FieldValidation;
  readonly fieldManager?: string;
}

export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface ObjectClientOptions extends KubeClientOptions {
  /** The kubeconfig context (with a kubeconfig path). @default its current context */
  readonly context?: string;
  /** Shared discovery (e.g. one with a disk cache). @default aggregated discovery in memory */
  readonly discovery?: Discovery;
  /** Field manager of server-side applies. @default 'bitpin-kube-client' */
  readonly fieldManager?: string;
}

/**
 * Objects by kind on top of {@link KubeClient}: get, list, create, server-side apply and delete
 * by `apiVersion` and `kind`, their REST paths found by {@link Discovery} (aggregated, in memory;
 * an unknown kind refreshes it once, so a CRD installed a moment ago resolves). What test set-ups
 * and tools need; the deployer talks to {@link KubeClient} with paths it resolves itself.
 */
export class ObjectClient {
  readonly client: KubeClient;
  readonly discovery: Discovery;
  private readonly fieldManager: string;

  /** From a KubeClient, or from a kubeconfig file with simple credentials ({@link readKubeconfig}). */
  constructor(client: KubeClient | string, opts: ObjectClientOptions = {}) {
    this.client = typeof client === 'string' ? new KubeClient(readKubeconfig(client, opts.context), opts) : client;
    this.discovery = opts.discovery ?? new Discovery(this.client);
    this.fieldManager = opts.fieldManager ?? 'bitpin-kube-client';
  }

  get server(): string {
    return this.client.server;
  }

  /** A request by path (see {@link KubeClient.request}). */
  request<T = unknown>(method: Parameters<KubeClient['request']>[0], path: string, opts: RequestOptions = {}): Promise<T> {
    return this.client.request<T>(method, path, opts);
  }

  /** The REST resource of a kind; throws when the server does not serve it. */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const info = await this.discovery.resolve(apiVersion, kind);
    if (!info) throw new Error(`the API server serves no ${kind} in ${apiVersion}`);
    return info;
  }

  /** REST path of a collection (no name) or an object. A namespaced kind needs a namespace. */
  async pathFor(apiVersion: string, kind: string, namespace?: string, name?: string): Promise<string> {
    const info = await this.resourceFor(apiVersion, kind);
    if (info.namespaced && !namespace && name) throw new Error(`${kind} is namespaced: give a namespace`);
    return resourcePath(info, namespace, name);
  }

  async get<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T> {
    return this.client.get<T>(await this.pathFor(apiVersion, kind, namespace, name));
  }

  /** Like {@link get}, but `undefined` for 404. */
  async tryGet<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    return this.client.get<T | undefined>(await this.pathFor(apiVersion, kind, namespace, name), { allow404: true });
  }

  /** Lists a kind in one namespace, or in all of them (no namespace). */
  async list<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, namespace?: string, query: ListOptions = {}): Promise<KubeList<T>> {
    return this.client.get<KubeList<T>>(await this.pathFor(apiVersion, kind, namespace), { query: { ...query } });
  }

  async create<T extends KubeObject = KubeObject>(obj: KubeObject, opts: CreateOptions = {}): Promise<T> {
    return this.client.request<T>('POST', await this.pathFor(obj.apiVersion, obj.kind, obj.metadata.namespace), {
      body: obj,
      query: { dryRun: opts.dryRun ? 'All' : undefined, fieldValidation: opts.fieldValidation ?? 'Strict', fieldManager: opts.fieldManager },
    });
  }

  /** Server-side apply (`application/apply-patch+yaml`), strict field validation and force by default. */
  async apply<T extends KubeObject = KubeObject>(obj: KubeObject, opts: ApplyOptions = {}): Promise<T> {
    if (!obj.metadata.name) throw new Error(`apply needs metadata.name (${obj.kind})`);
    return this.client.request<T>('PATCH', await this.pathFor(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name), {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: {
        fieldManager: opts.fieldManager ?? this.fieldManager,
        force: opts.force ?? true,
        dryRun: opts.dryRun ? 'All' : undefined,
        fieldValidation: opts.fieldValidation ?? 'Strict',
      },
    });
  }

  /** Deletes an object; `false` when it did not exist. */
  async delete(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
    propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background',
  ): Promise<boolean> {
    const response: { status?: number } = {};
    await this.client.request('DELETE', await this.pathFor(apiVersion, kind, namespace, name), {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy },
      allow404: true,
      response,
    });
    return response.status !== 404;
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.client.close();
  }
}

/** Whether an error is the API server's answer with this HTTP status. */
export function isApiError(e: unknown, status?: number): e is ApiError {
  return e instanceof ApiError && (status === undefined || e.status === status);
}
