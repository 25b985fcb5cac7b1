import type { EnvConfig } from '@bitpin/config';
import { CRD_INFO, listMembers, listMembersOf, listParents, ownParent, splitGroupKind, type Engine, type LiveMember, type ServerVersion } from './engine/index.js';
import { PreflightError, resourcePath, type KubeObject, type ResourceInfo } from '@bitpin/kube-client';
import { parentName, readParentState, type ParentState } from './inventory.js';
import { readInventoryHint, writeInventoryHint } from './kube/inventory-hint.js';

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
  // The kinds the inventory named last time (a guess, see inventory-hint.ts): their LISTs go out now,
  // with the parents' read, on the cached discovery's paths.
  const server = engine.client.server;
  const hint = readInventoryHint(server, envName);
  const guessed = (hint ?? []).map((gk) => {
    const { group, kind } = splitGroupKind(gk);
    return engine.discovery.cachedGroupKind(group, kind);
  });
  const early = hint?.length && guessed.every(Boolean) ? listMembersOf(engine, guessed as ResourceInfo[]) : undefined;
  early?.catch(() => undefined); // used (and its failure seen) only if the guess holds
  const members = Promise.all([parents, discovery]).then(async ([p]) => {
    const parent = p.items.find((x) => x.metadata.name === parentName(envName));
    const state = readParentState(parent);
    writeInventoryHint(server, envName, state.groupKinds, hint);
    if (!state.groupKinds.length) return new Map<string, LiveMember>();
    const fromGuess = early && (await usableGuess(engine, state, guessed as ResourceInfo[], early));
    return fromGuess ?? listMembers(engine, state);
  });
  // Awaited later (or never, when the input turns out bad): not unhandled meanwhile.
  for (const p of [version, parents, discovery, members]) p.catch(() => undefined);
  return { version, parents, discovery, members };
}

/**
 * The members the early LISTs found, when they answer for exactly the inventory's kinds as confirmed
 * discovery serves them: kinds the guess missed are listed now; a guessed LIST that failed, a kind
 * served at another path than the cache said, or one that answered 404 makes the guess unusable
 * (undefined: list the usual way).
 */
async function usableGuess(engine: Engine, state: ParentState, guessed: readonly ResourceInfo[], early: Promise<{ members: Map<string, LiveMember>; stale: ResourceInfo[] }>): Promise<Map<string, LiveMember> | undefined> {
  let got: Awaited<typeof early>;
  try {
    got = await early;
  } catch {
    return undefined;
  }
  if (got.stale.length) return undefined;
  const want: ResourceInfo[] = [];
  for (const gk of state.groupKinds) {
    const { group, kind } = splitGroupKind(gk);
    const info = engine.discovery.findByGroupKind(group, kind);
    if (!info) return undefined; // not served (any more): the usual path says why
    want.push(info);
  }
  const same = (a: ResourceInfo, b: ResourceInfo) => a.group === b.group && a.version === b.version && a.resource === b.resource && a.kind === b.kind;
  for (const g of guessed) {
    const w = want.find((x) => x.group === g.group && x.kind === g.kind);
    if (w && !same(w, g)) return undefined; // served at another version or path now
  }
  const missing = want.filter((w) => !guessed.some((g) => same(g, w)));
  const members = new Map([...got.members].filter(([, m]) => want.some((w) => same(w, m.info))));
  if (missing.length) {
    const more = await listMembersOf(engine, missing);
    if (more.stale.length) return undefined;
    for (const [ref, m] of more.members) members.set(ref, m);
  }
  return members;
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
