import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** A Kubernetes object as JSON (only the fields this client needs are typed). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    resourceVersion?: string;
    ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
    [key: string]: unknown;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any;
  [key: string]: unknown;
}

export interface KubeList<T = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** A non-2xx answer from the API server, with the `Status` object's reason and message. */
export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly statusCode: number,
    readonly reason: string,
    readonly body: unknown,
  ) {
    const msg = (body as { message?: string } | undefined)?.message ?? String(body);
    super(`${method} ${path}: ${statusCode} ${reason}: ${msg}`);
    this.name = 'KubeApiError';
  }
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
}

export interface Response<T> {
  statusCode: number;
  body: T;
  /** `Warning` headers (for example unknown fields under fieldValidation=Warn). */
  warnings: string[];
}

export interface ApplyOptions {
  fieldManager?: string;
  force?: boolean;
  dryRun?: boolean;
  /** Strict (default here), Warn or Ignore. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

interface ResourceInfo {
  name: string;
  namespaced: boolean;
  kind: string;
}

interface Credentials {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

/** Reads the current context of a kubeconfig (client certs or token; files or inline data). */
export function readKubeconfig(path: string, context?: string): Credentials {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const cfg: any = parseYaml(readFileSync(path, 'utf8'));
  const ctxName = context ?? cfg['current-context'];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const ctx = (cfg.contexts ?? []).find((c: any) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`${path}: context ${ctxName} not found`);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const cluster = (cfg.clusters ?? []).find((c: any) => c.name === ctx.cluster)?.cluster;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const user = (cfg.users ?? []).find((u: any) => u.name === ctx.user)?.user ?? {};
  if (!cluster?.server) throw new Error(`${path}: cluster ${ctx.cluster} has no server`);
  const base = dirname(path);
  const load = (data: string | undefined, file: string | undefined): Buffer | undefined =>
    data ? Buffer.from(data, 'base64') : file ? readFileSync(isAbsolute(file) ? file : resolve(base, file)) : undefined;
  const creds: Credentials = { server: String(cluster.server).replace(/\/$/, '') };
  const ca = load(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = load(user['client-certificate-data'], user['client-certificate']);
  const key = load(user['client-key-data'], user['client-key']);
  if (ca) creds.ca = ca;
  if (cert) creds.cert = cert;
  if (key) creds.key = key;
  if (user.token) creds.token = String(user.token);
  return creds;
}

/**
 * A small dependency-free Kubernetes REST client (node:https + client certificates), enough for the
 * test environment and tests: discovery, get/list/create/delete, server-side apply, waiting.
 * For richer needs use `@kubernetes/client-node` with `KubeConfig.loadFromFile(kubeconfigPath)`.
 */
export class KubeClient {
  private readonly creds: Credentials;
  private readonly agent: Agent;
  private readonly discovery = new Map<string, Promise<ResourceInfo[]>>();

  constructor(readonly kubeconfigPath: string, context?: string) {
    this.creds = readKubeconfig(kubeconfigPath, context);
    const opts: ConstructorParameters<typeof Agent>[0] = { keepAlive: true, maxSockets: 16 };
    if (this.creds.ca) opts.ca = this.creds.ca;
    if (this.creds.cert) opts.cert = this.creds.cert;
    if (this.creds.key) opts.key = this.creds.key;
    this.agent = new Agent(opts);
  }

  get server(): string {
    return this.creds.server;
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  /** Raw request; never throws on HTTP status (see `request` for that). */
  raw<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<Response<T>> {
    const url = new URL(this.creds.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    if (this.creds.token) headers['Authorization'] = `Bearer ${this.creds.token}`;
    return new Promise((resolvePromise, reject) => {
      const req = httpsRequest(url, { method, headers, agent: this.agent, timeout: opts.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if ((res.headers['content-type'] ?? '').includes('json') && text) {
            try {
              body = JSON.parse(text);
            } catch {
              body = text;
            }
          }
          const w = res.headersDistinct['warning'];
          // RFC 7234 warning: `299 - "text with \"escapes\""`
          const warnings = (w ?? []).map((s) => {
            const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(s);
            return m?.[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : s;
          });
          resolvePromise({ statusCode: res.statusCode ?? 0, body: body as T, warnings });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Request that throws `KubeApiError` on a non-2xx status. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw<T>(method, path, opts);
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const reason = (res.body as { reason?: string } | undefined)?.reason ?? '';
      throw new KubeApiError(method, path, res.statusCode, reason, res.body);
    }
    return res.body;
  }

  /** Finds the REST resource (plural name, scope) of a kind via discovery (cached per group/version). */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const find = async (refresh: boolean): Promise<ResourceInfo | undefined> => {
      if (refresh) this.discovery.delete(apiVersion);
      let p = this.discovery.get(apiVersion);
      if (!p) {
        const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        p = this.request<{ resources: ResourceInfo[] }>('GET', path).then((r) => r.resources.filter((x) => !x.name.includes('/')));
        p.catch(() => this.discovery.delete(apiVersion));
        this.discovery.set(apiVersion, p);
      }
      return (await p).find((r) => r.kind === kind);
    };
    // A CRD installed after the first lookup needs a fresh discovery.
    const info = (await find(false).catch(() => undefined)) ?? (await find(true));
    if (!info) throw new Error(`no resource for ${apiVersion} ${kind}`);
    return info;
  }

  /** REST path of a collection or object. */
  async pathFor(apiVersion: string, kind: string, namespace?: string, name?: string): Promise<string> {
    const r = await this.resourceFor(apiVersion, kind);
    const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (r.namespaced && !namespace) throw new Error(`${kind} is namespaced: give a namespace`);
    const ns = r.namespaced ? `/namespaces/${encodeURIComponent(namespace as string)}` : '';
    return `${prefix}${ns}/${r.name}${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  async get<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T> {
    return this.request<T>('GET', await this.pathFor(apiVersion, kind, namespace, name));
  }

  /** Like `get`, but `undefined` for 404. */
  async tryGet<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    const res = await this.raw<T>('GET', await this.pathFor(apiVersion, kind, namespace, name));
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw new KubeApiError('GET', kind, res.statusCode, '', res.body);
    return res.body;
  }

  async list<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    query: { labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', await this.pathFor(apiVersion, kind, namespace), { query });
  }

  async create<T extends KubeObject = KubeObject>(
    obj: KubeObject,
    opts: { dryRun?: boolean; fieldValidation?: 'Strict' | 'Warn' | 'Ignore'; fieldManager?: string } = {},
  ): Promise<T> {
    const path = await this.pathFor(obj.apiVersion, obj.kind, obj.metadata.namespace);
    return this.request<T>('POST', path, {
      body: obj,
      query: { dryRun: opts.dryRun ? 'All' : undefined, fieldValidation: opts.fieldValidation ?? 'Strict', fieldManager: opts.fieldManager },
    });
  }

  /** Server-side apply (`application/apply-patch+yaml`), strict field validation and force by default. */
  async apply<T extends KubeObject = KubeObject>(obj: KubeObject, opts: ApplyOptions = {}): Promise<T> {
    const name = obj.metadata.name;
    if (!name) throw new Error(`apply needs metadata.name (${obj.kind})`);
    const path = await this.pathFor(obj.apiVersion, obj.kind, obj.metadata.namespace, name);
    return this.request<T>('PATCH', path, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: {
        fieldManager: opts.fieldManager ?? 'k8s-testenv',
        force: opts.force ?? true,
        dryRun: opts.dryRun ? 'All' : undefined,
        fieldValidation: opts.fieldValidation ?? 'Strict',
      },
    });
  }

  /** Deletes an object; resolves `false` when it did not exist. */
  async delete(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
    propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background',
  ): Promise<boolean> {
    const path = await this.pathFor(apiVersion, kind, namespace, name);
    const res = await this.raw('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy } });
    if (res.statusCode === 404) return false;
    if (res.statusCode >= 300) throw new KubeApiError('DELETE', path, res.statusCode, '', res.body);
    return true;
  }
}

/** Polls `check` until it returns a value other than `undefined`/`false`, or throws after `timeoutMs`. */
export async function waitFor<T>(
  description: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 250 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `status.conditions[type].status === 'True'`. */
export function hasCondition(obj: KubeObject | undefined, type: string, status = 'True'): boolean {
  const conditions = (obj?.status?.conditions ?? []) as Array<{ type: string; status: string }>;
  return conditions.some((c) => c.type === type && c.status === status);
}
