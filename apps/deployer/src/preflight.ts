import type { EnvConfig } from '@bitpin/config';
import { CRD_INFO, type Engine, type LiveMember, type ServerVersion } from './engine.js';
import { resourcePath } from './kube/discovery.js';
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
  /** The required CRDs by name (undefined: not installed). */
  readonly crds: Promise<Map<string, any>>;
  readonly parents: Promise<{ served: boolean; items: KubeObject[] }>;
  readonly discovery: Promise<void>;
  readonly members: Promise<Map<string, LiveMember>>;
}

/**
 * Sends the reads a cluster command starts with, all at once and without waiting: the server
 * version, the required CRDs and every env's parent (by their fixed paths), discovery (from the
 * disk cache when fresh) and, once the env's parent is known, its members — one LIST per kind
 * the parent names. The caller reads its input meanwhile; {@link preflight} checks the answers.
 */
export function startReads(engine: Engine, envName: string): ClusterReads {
  const version = engine.serverVersion();
  const crds = Promise.all(
    Object.values(REQUIRED_CRDS).map(async (r) => [r.crd, await engine.client.get<any>(resourcePath(CRD_INFO, undefined, r.crd), { allow404: true })] as const),
  ).then((entries) => new Map(entries));
  const parents = engine.listParents();
  const discovery = engine.discover();
  const members = parents.then((p) => {
    const parent = p.items.find((x) => x.metadata.name === parentName(envName));
    const state = readParentState(parent);
    return state.groupKinds.length ? engine.listMembers(state) : new Map<string, LiveMember>();
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
  const found = new Map((crds as PromiseFulfilledResult<Map<string, any>>).value);
  await Promise.all(switched.map(async (r) => found.set(r.crd, await engine.client.get<any>(resourcePath(CRD_INFO, undefined, r.crd), { allow404: true }))));
  for (const req of [...[...groups].filter((g) => REQUIRED_CRDS[g]).map((g) => REQUIRED_CRDS[g]!), ...switched]) {
    const crd = found.get(req.crd);
    if (!crd) throw new PreflightError(`the cluster has no CRD ${req.crd}; ${req.install}`);
    const established = (crd.status?.conditions ?? []).some((c: any) => c.type === 'Established' && c.status === 'True');
    if (!established) throw new PreflightError(`CRD ${req.crd} is not Established yet; wait for it or check the API server's logs`);
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
