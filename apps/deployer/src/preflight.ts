import type { EnvConfig } from '@bitpin/config';
import { CRD_INFO, type Engine, type LiveMember, type ServerVersion } from './engine.js';
import { resourcePath, type ResourceInfo } from './kube/discovery.js';
import { PreflightError } from './kube/errors.js';
import { parentName, readParentState } from './inventory.js';
import type { KubeObject } from './manifest.js';

/** What the cluster commands need of an env: its name and the cluster it deploys to. */
export type DeployEnv = Pick<EnvConfig, 'name' | 'kube'>;

/** Kubernetes minors this platform is built and tested for (cdk8s-plus-34 types; tested on 1.34). */
export const SUPPORTED_MINORS = { min: 30, max: 35 } as const;

/** CRDs the platform's objects need, with how to get them. */
const REQUIRED_CRDS: Record<string, { crd: string; install: string }> = {
  'postgresql.cnpg.io': {
    crd: 'clusters.postgresql.cnpg.io',
    install:
      'install the CloudNativePG operator: kubectl apply --server-side -f https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/release-1.28/releases/cnpg-1.28.2.yaml',
  },
};

/**
 * CRDs only some envs' objects need (a switch turns them on): read in the preflight, and only when
 * the desired objects use their group, so envs without them pay no request.
 */
const SWITCHED_CRDS: Record<string, { crd: string; install: string }> = {
  'external-secrets.io': {
    crd: 'externalsecrets.external-secrets.io',
    install:
      'install the External Secrets Operator (v0.16 or later, serving external-secrets.io/v1) and the store named by features.externalSecrets.secretStore, or turn features.externalSecrets off',
  },
};

export interface PreflightReport {
  readonly serverVersion: string;
  readonly context: string;
  /** This env's inventory parent (undefined before the first apply), read with the other envs'. */
  readonly parent: KubeObject | undefined;
  /** Whether the parent CRD is installed. */
  readonly parentServed: boolean;
  /** The env's live members, listed by the kinds its parent names (none without a parent). */
  readonly members: Promise<Map<string, LiveMember>>;
}

/** Every read the preflight and the plan make, sent together by {@link startReads}. */
export interface ClusterReads {
  readonly version: Promise<ServerVersion>;
  /** The required CRDs' metadata by name (undefined: not installed). */
  readonly crds: Promise<Map<string, KubeObject | undefined>>;
  readonly parents: Promise<{ served: boolean; items: KubeObject[] }>;
  readonly discovery: Promise<void>;
  readonly members: Promise<Map<string, LiveMember>>;
}

/**
 * Sends the reads a cluster command starts with, all at once and without waiting: the server
 * version, the required CRDs' metadata and every env's parent (by their fixed paths), discovery
 * (from the disk cache when fresh) and the env's members — one LIST per kind the parent names.
 * The parent is not known yet, so the kinds the input names (`kinds`, `Kind.group`) are listed
 * right away with the cached discovery's resources; a kind the parent names but the input does
 * not, or whose resource the confirmed discovery says otherwise, is listed once the parent is
 * read. The caller reads its input meanwhile; {@link preflight} checks the answers.
 */
export function startReads(engine: Engine, envName: string, kinds: readonly string[] = []): ClusterReads {
  const version = engine.serverVersion();
  const crds = readCrdMetadata(engine, Object.values(REQUIRED_CRDS));
  const parents = engine.listParents();
  const discovery = engine.discover();
  const early = new Map<string, { info: ResourceInfo; list: Promise<{ items: KubeObject[] } | undefined> }>();
  for (const gk of new Set(kinds)) {
    const dot = gk.indexOf('.');
    const info = engine.discovery.peekGroupKind(dot === -1 ? '' : gk.slice(dot + 1), dot === -1 ? gk : gk.slice(0, dot));
    if (!info) continue;
    const list = engine.listKind(info);
    list.catch(() => undefined); // a kind the parent does not name is never awaited
    early.set(gk, { info, list });
  }
  const members = parents.then((p) => {
    const parent = p.items.find((x) => x.metadata.name === parentName(envName));
    const state = readParentState(parent);
    return state.groupKinds.length ? engine.listMembers(state, early) : new Map<string, LiveMember>();
  });
  // Awaited later (or never, when the input turns out bad): not unhandled meanwhile.
  for (const p of [version, crds, parents, discovery, members]) p.catch(() => undefined);
  return { version, crds, parents, discovery, members };
}

/**
 * Before anything is written: the cluster is reachable and runs a supported version, the CRDs
 * the objects need are Established, and the cluster does not already hold another env.
 * (The context check happens when the kubeconfig is loaded: see contextFor.) The reads go out
 * at once ({@link startReads}, or already sent by the caller), so the preflight and the
 * inventory cost one round trip after discovery — none when discovery is cached.
 */
export async function preflight(engine: Engine, env: DeployEnv, desired: readonly KubeObject[], reads = startReads(engine, env.name)): Promise<PreflightReport> {
  const [version, crds, parents, discovered] = await Promise.allSettled([reads.version, reads.crds, reads.parents, reads.discovery]);
  // An unreachable or unsupported server is reported as such, before what follows from it.
  if (version.status === 'rejected') throw version.reason;
  const { major, minor: minorText, gitVersion } = version.value;
  const minor = Number.parseInt(minorText, 10);
  if (major !== '1' || !(minor >= SUPPORTED_MINORS.min && minor <= SUPPORTED_MINORS.max)) {
    throw new PreflightError(`the cluster runs Kubernetes ${gitVersion}; supported are 1.${SUPPORTED_MINORS.min}–1.${SUPPORTED_MINORS.max}`);
  }
  for (const r of [crds, parents, discovered]) if (r.status === 'rejected') throw r.reason;
  const groups = new Set(desired.map((o) => (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '')));
  const switched = [...groups].filter((g) => SWITCHED_CRDS[g]).map((g) => SWITCHED_CRDS[g]!);
  const found = new Map([...(crds as PromiseFulfilledResult<Map<string, KubeObject | undefined>>).value, ...(await readCrdMetadata(engine, switched))]);
  for (const [group, req] of [...groups].flatMap((g) => (REQUIRED_CRDS[g] ?? SWITCHED_CRDS[g] ? [[g, (REQUIRED_CRDS[g] ?? SWITCHED_CRDS[g])!] as const] : []))) {
    if (!found.get(req.crd)) throw new PreflightError(`the cluster has no CRD ${req.crd}; ${req.install}`);
    // The CRD exists; its kinds are served (in discovery) only once it is Established. A
    // cached discovery that does not list a kind is refreshed first.
    for (const o of desired.filter((x) => x.apiVersion.startsWith(`${group}/`))) {
      if (await engine.discovery.resolve(o.apiVersion, o.kind)) continue;
      const crd = await engine.client.get<any>(resourcePath(CRD_INFO, undefined, req.crd), { allow404: true });
      const established = (crd?.status?.conditions ?? []).some((c: any) => c.type === 'Established' && c.status === 'True');
      if (!established) throw new PreflightError(`CRD ${req.crd} is not Established yet; wait for it or check the API server's logs`);
      throw new PreflightError(`CRD ${req.crd} does not serve ${o.kind} ${o.apiVersion}; ${req.install}`);
    }
  }

  // One env per cluster: refuse to put one env's objects where another env's inventory lives.
  const { served, items } = (parents as PromiseFulfilledResult<{ served: boolean; items: KubeObject[] }>).value;
  const others = items.filter((p) => p.metadata?.name !== parentName(env.name));
  if (others.length) {
    const names = others.map((p) => `${(p as { spec?: { env?: string } }).spec?.env ?? p.metadata.name}`).join(', ');
    throw new PreflightError(
      `the cluster behind context "${engine.client.contextName}" already holds env ${names}; refusing to deploy env ${env.name} over it (one env per cluster)`,
    );
  }
  const parent = engine.ownParent(items.find((p) => p.metadata.name === parentName(env.name)));
  return { serverVersion: gitVersion, context: engine.client.contextName, parent, parentServed: served, members: reads.members };
}

/**
 * CRDs' metadata only (~1 KB; the whole CloudNativePG Cluster CRD is ~260 KB of schema): whether
 * each exists. Established is told by discovery, which lists a CRD's kinds only once it is.
 */
async function readCrdMetadata(engine: Engine, crds: readonly { crd: string }[]): Promise<Map<string, KubeObject | undefined>> {
  const entries = await Promise.all(
    crds.map(async (r) => [r.crd, await engine.client.get<KubeObject>(resourcePath(CRD_INFO, undefined, r.crd), { allow404: true, accept: METADATA_ONLY })] as const),
  );
  return new Map(entries);
}

const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;q=0.9';

/**
 * The context to use: the env's own. Another context is refused unless explicitly allowed, so
 * prod config never lands on a dev cluster by a stale current-context, and the reverse.
 */
export function contextFor(env: DeployEnv, requested: string | undefined, allowOther: boolean): string {
  if (requested && requested !== env.kube.context && !allowOther) {
    throw new PreflightError(
      `env ${env.name} deploys to context "${env.kube.context}", not "${requested}"; pass --allow-context-mismatch to override`,
    );
  }
  return requested ?? env.kube.context;
}
