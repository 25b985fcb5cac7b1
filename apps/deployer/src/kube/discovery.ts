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

/**
 * The API server's resources, read with aggregated discovery: two requests (`/api`, `/apis`)
 * for everything, instead of one per group-version.
 */
export class Discovery {
  private byGvk = new Map<string, ResourceInfo>();
  private loaded = false;

  constructor(private readonly client: KubeClient) {}

  async refresh(): Promise<void> {
    const [core, groups] = await Promise.all([
      this.client.get<DiscoveryList>('/api', { accept: AGGREGATED }),
      this.client.get<DiscoveryList>('/apis', { accept: AGGREGATED }),
    ]);
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
    this.loaded = true;
  }

  /** Looks a kind up, refreshing once if it is unknown (a CRD applied in an earlier wave). */
  async resolve(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    if (!this.loaded) await this.refresh();
    let info = this.byGvk.get(gvkKey(apiVersion, kind));
    if (!info) {
      await this.refresh();
      info = this.byGvk.get(gvkKey(apiVersion, kind));
    }
    return info;
  }

  /** Looks a kind up in what was discovered, without refreshing (undefined when not served). */
  async resolveKnown(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    if (!this.loaded) await this.refresh();
    return this.byGvk.get(gvkKey(apiVersion, kind));
  }

  /** Looks a group-kind up (preferring the first version served). */
  findByGroupKind(group: string, kind: string): ResourceInfo | undefined {
    for (const info of this.byGvk.values()) if (info.group === group && info.kind === kind) return info;
    return undefined;
  }

  has(apiVersion: string, kind: string): boolean {
    return this.byGvk.has(gvkKey(apiVersion, kind));
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
