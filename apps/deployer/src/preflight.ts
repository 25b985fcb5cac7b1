import type { EnvConfig } from '@bitpin/config';
import { CRD_INFO, listMembers, listParents, ownParent, type Engine, type LiveMember, type ServerVersion } from './engine/index.js';
import { PreflightError, resourcePath, type KubeObject } from '@bitpin/kube-client';
import { parentName, readParentState } from './inventory.js';

/** What the cluster commands need of an env: its name and the cluster it deploys to. */
export type DeployEnv = Pick<EnvConfig, 'name' | 'kube' | 'deploy'>;

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

/** Every read the preflight and the plan make, sent by {@link startReads}. */
export interface ClusterReads {
  readonly version: Promise<ServerVersion>;
  readonly parents: Promise<{ served: boolean; items: KubeObject[] }>;
  readonly discovery: Promise<void>;
  readonly members: Promise<Map<string, LiveMember>>;
}

/**
 * Sends the reads a cluster command starts with, without waiting: every env's parent (one LIST
 * on its fixed path) and discovery with the server version (from the disk cache when fresh: no
 * request); once the parent is read, the env's members — one LIST per kind the parent names, and
 * none before the first apply, when there is no parent. The caller reads its input meanwhile;
 * {@link preflight} checks the answers.
 */
export function startReads(engine: Engine, envName: string): ClusterReads {
  const parents = listParents(engine);
  const discovery = engine.discover();
  const version = engine.serverVersion();
  const members = Promise.all([parents, discovery]).then(([p]) => {
    const parent = p.items.find((x) => x.metadata.name === parentName(envName));
    const state = readParentState(parent);
    return state.groupKinds.length ? listMembers(engine, state) : new Map<string, LiveMember>();
  });
  // Awaited later (or never, when the input turns out bad): not unhandled meanwhile.
  for (const p of [version, parents, discovery, members]) p.catch(() => undefined);
  return { version, parents, discovery, members };
}

/**
 * Before anything is written: the cluster is reachable and runs a supported version, the CRDs
 * the objects need are Established, and the cluster does not already hold another env.
 * (The context check happens when the kubeconfig is loaded: see contextFor.) The reads go out
 * at once ({@link startReads}, or already sent by the caller), so the preflight and the
 * inventory cost one round trip after discovery — none when discovery is cached.
 */
export async function preflight(engine: Engine, env: DeployEnv, desired: readonly KubeObject[], reads = startReads(engine, env.name)): Promise<PreflightReport> {
  const [version, parents, discovered] = await Promise.allSettled([reads.version, reads.parents, reads.discovery]);
  // An unreachable or unsupported server is reported as such, before what follows from it.
  if (version.status === 'rejected') throw version.reason;
  const { major, minor: minorText, gitVersion } = version.value;
  const minor = Number.parseInt(minorText, 10);
  if (major !== '1' || !(minor >= SUPPORTED_MINORS.min && minor <= SUPPORTED_MINORS.max)) {
    throw new PreflightError(`the cluster runs Kubernetes ${gitVersion}; supported are 1.${SUPPORTED_MINORS.min}–1.${SUPPORTED_MINORS.max}`);
  }
  for (const r of [parents, discovered]) if (r.status === 'rejected') throw r.reason;
  const groups = new Set(desired.map((o) => (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '')));
  for (const group of groups) {
    const req = REQUIRED_CRDS[group] ?? SWITCHED_CRDS[group];
    if (!req) continue;
    // Discovery lists a CRD's kinds only once it is Established: a kind it serves needs no
    // further read. One it does not know refreshes a cached discovery first (resolve).
    let unserved: KubeObject | undefined;
    for (const o of desired.filter((x) => x.apiVersion.startsWith(`${group}/`))) {
      if (!(await engine.discovery.resolve(o.apiVersion, o.kind))) {
        unserved = o;
        break;
      }
    }
    if (!unserved) continue;
    const crd = await engine.client.get<any>(resourcePath(CRD_INFO, undefined, req.crd), { allow404: true });
    if (!crd) throw new PreflightError(`the cluster has no CRD ${req.crd}; ${req.install}`);
    const established = (crd.status?.conditions ?? []).some((c: any) => c.type === 'Established' && c.status === 'True');
    if (!established) throw new PreflightError(`CRD ${req.crd} is not Established yet; wait for it or check the API server's logs`);
    throw new PreflightError(`CRD ${req.crd} does not serve ${unserved.kind} ${unserved.apiVersion}; ${req.install}`);
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
  const parent = ownParent(engine, items.find((p) => p.metadata.name === parentName(env.name)));
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
