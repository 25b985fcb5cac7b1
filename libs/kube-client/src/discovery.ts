import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KubeClient } from './client.js';

export interface ResourceInfo {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** Plural resource name used in URLs, e.g. `deployments`. */
  readonly resource: string;
  readonly namespaced: boolean;
}

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;q=0.9';

interface DiscoveryList {
  items?: {
    metadata?: { name?: string };
    versions?: { version: string; resources?: { resource: string; scope: string; responseKind?: { kind: string } }[] }[];
  }[];
}

/** How long a discovery cache entry is trusted (kubectl's disk cache uses the same 6 hours). */
export const DISCOVERY_TTL_MS = 6 * 60 * 60 * 1000;

/** The server's `/version` (the fields the deployer reads). */
export interface ServerVersion {
  readonly gitVersion: string;
  readonly major: string;
  readonly minor: string;
}

interface CacheFile {
  readonly format: 3;
  readonly server: string;
  readonly version: ServerVersion;
  readonly fetchedAt: number;
  /** Entity tag of the aggregated `/apis` document the resources were read from. */
  readonly etag: string | undefined;
  readonly resources: ResourceInfo[];
}

/**
 * The API server's version and resources, read with aggregated discovery: three requests
 * (`/version`, `/api`, `/apis`) for everything, instead of one per group-version. Given a
 * `cacheDir`, they are cached on disk per server URL, and every run confirms the cache with one
 * conditional GET of `/apis` (its entity tag; `304 Not Modified` when no group or CRD changed), so
 * a CRD installed, removed or not yet Established is seen at once; a changed `/apis` reads `/api`
 * and `/version` again too. After 6 hours (kubectl's TTL) everything is read again anyway, which
 * bounds how long a patch upgrade that changed no API can show the old version. Without a
 * `cacheDir` discovery lives as long as the object. An unknown kind refreshes it once (a CRD
 * installed since).
 */
export class Discovery {
  private byGvk = new Map<string, ResourceInfo>();
  private loaded = false;
  /** True when the map came from the disk cache and was not confirmed by the server in this run. */
  private fromCache = false;
  private cached: CacheFile | undefined;
  private version: ServerVersion | undefined;
  private readonly cacheFile: string | undefined;
  private pending: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    opts: { cacheDir?: string | undefined } = {},
  ) {
    this.cacheFile = opts.cacheDir ? join(opts.cacheDir, `${createHash('sha256').update(client.server).digest('hex').slice(0, 32)}.json`) : undefined;
  }

  /** Loads discovery once (the cache, confirmed by the server); concurrent callers share the load. */
  async ensure(): Promise<void> {
    if (this.loaded) return;
    this.pending ??= this.load().finally(() => (this.pending = undefined));
    await this.pending;
  }

  /** The server's version: from the same cache entry as the resources, or read with them. */
  async serverVersion(): Promise<ServerVersion> {
    await this.ensure();
    return this.version!;
  }

  /** Uses the disk cache for this server when it is younger than the TTL and `/apis` still has its entity tag; otherwise reads the server. */
  private async load(): Promise<void> {
    const c = this.readCache();
    if (!c?.etag || Date.now() - c.fetchedAt >= DISCOVERY_TTL_MS) return this.refresh();
    const response: { status?: number; etag?: string } = {};
    const groups = await this.client.get<DiscoveryList | undefined>('/apis', { accept: AGGREGATED, ifNoneMatch: c.etag, response });
    if (groups) return this.refresh({ groups, etag: response.etag }); // a group or CRD changed
    this.byGvk = new Map(c.resources.map((r) => [gvkKey(apiVersionOf(r.group, r.version), r.kind), r]));
    this.version = c.version;
    this.loaded = true;
    this.fromCache = false; // confirmed: 304 Not Modified
  }

  /** Whether the resources came from the disk cache (not yet confirmed by the server in this run). */
  get cachedOnly(): boolean {
    return this.fromCache;
  }

  /** Reads discovery from the server (and caches it); concurrent callers share one refresh. `apis`: `/apis` already read. */
  refresh(apis?: { groups: DiscoveryList; etag: string | undefined }): Promise<void> {
    this.refreshing ??= this.fetch(apis).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async fetch(apis?: { groups: DiscoveryList; etag: string | undefined }): Promise<void> {
    const response: { etag?: string } = {};
    const [core, groups, version] = await Promise.all([
      this.client.get<DiscoveryList>('/api', { accept: AGGREGATED }),
      apis?.groups ?? this.client.get<DiscoveryList>('/apis', { accept: AGGREGATED, response }),
      this.client.get<ServerVersion>('/version'),
    ]);
    const etag = apis ? apis.etag : response.etag;
    const map = new Map<string, ResourceInfo>();
    for (const list of [core, groups]) {
      for (const g of list.items ?? []) {
        const group = g.metadata?.name ?? '';
        for (const v of g.versions ?? []) {
          for (const r of v.resources ?? []) {
            if (!r.responseKind?.kind) continue;
            const info = { group, version: v.version, kind: r.responseKind.kind, resource: r.resource, namespaced: r.scope === 'Namespaced' };
            map.set(gvkKey(apiVersionOf(group, v.version), info.kind), info);
          }
        }
      }
    }
    if (!map.size) throw new Error('the API server returned no aggregated discovery (Kubernetes ≥ 1.30 is required)');
    this.byGvk = map;
    this.version = { gitVersion: version.gitVersion, major: version.major, minor: version.minor };
    this.loaded = true;
    this.fromCache = false;
    this.writeCache(this.version, etag, [...map.values()]);
  }

  /**
   * The cached resources were wrong for this cluster (a resource type answered 404): drop the
   * cache file, and refresh from the server on the next lookup.
   */
  async invalidate(): Promise<void> {
    if (!this.fromCache) return;
    if (this.cacheFile) rmSync(this.cacheFile, { force: true });
    await this.refresh();
  }

  /** Looks a kind up, refreshing once if it is unknown (a CRD applied in an earlier wave, or a stale cache). */
  async resolve(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    if (!this.loaded) await this.ensure();
    let info = this.byGvk.get(gvkKey(apiVersion, kind));
    if (!info) {
      await this.refresh();
      info = this.byGvk.get(gvkKey(apiVersion, kind));
    }
    return info;
  }

  /** Looks a kind up in what was discovered, without refreshing (undefined when not served). */
  async resolveKnown(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    if (!this.loaded) await this.ensure();
    return this.byGvk.get(gvkKey(apiVersion, kind));
  }

  /** Looks a group-kind up (preferring the first version served); a miss in a cached map refreshes it once. */
  async resolveGroupKind(group: string, kind: string): Promise<ResourceInfo | undefined> {
    if (!this.loaded) await this.ensure();
    const found = this.findByGroupKind(group, kind);
    if (found || !this.fromCache) return found;
    await this.refresh();
    return this.findByGroupKind(group, kind);
  }

  /**
   * A group-kind as the disk cache has it, before (and without) the server's confirmation: for reads
   * sent speculatively while discovery is confirmed, whose caller then checks the confirmed answer
   * ({@link findByGroupKind}) before using what they returned. Undefined when there is no fresh cache.
   */
  cachedGroupKind(group: string, kind: string): ResourceInfo | undefined {
    const c = this.readCache();
    if (!c?.etag || Date.now() - c.fetchedAt >= DISCOVERY_TTL_MS) return undefined;
    return c.resources.find((r) => r.group === group && r.kind === kind);
  }

  /** Looks a group-kind up (preferring the first version served). */
  findByGroupKind(group: string, kind: string): ResourceInfo | undefined {
    for (const info of this.byGvk.values()) if (info.group === group && info.kind === kind) return info;
    return undefined;
  }

  has(apiVersion: string, kind: string): boolean {
    return this.byGvk.has(gvkKey(apiVersion, kind));
  }

  private readCache(): CacheFile | undefined {
    if (!this.cacheFile) return undefined;
    if (this.cached) return this.cached;
    try {
      const c = JSON.parse(readFileSync(this.cacheFile, 'utf8')) as CacheFile;
      if (c.format !== 3 || c.server !== this.client.server || !Array.isArray(c.resources) || !c.version?.gitVersion) return undefined;
      this.cached = c;
      return c;
    } catch {
      return undefined; // absent or unreadable: ask the server
    }
  }

  /** Best effort, atomic (write and rename): a read-only home only costs the three requests next time. */
  private writeCache(version: ServerVersion, etag: string | undefined, resources: ResourceInfo[]): void {
    if (!this.cacheFile) return;
    const file: CacheFile = { format: 3, server: this.client.server, version, fetchedAt: Date.now(), etag, resources };
    this.cached = file;
    try {
      mkdirSync(dirname(this.cacheFile), { recursive: true });
      const tmp = `${this.cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(file));
      renameSync(tmp, this.cacheFile);
    } catch {
      // not cached this time
    }
  }
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

function gvkKey(apiVersion: string, kind: string): string {
  return `${apiVersion}|${kind}`;
}

/** URL path of a collection or an object. */
export function resourcePath(info: ResourceInfo, namespace?: string, name?: string): string {
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${info.resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
