import type { EnvConfig } from '@bitpin/config';
import type { Engine } from './engine.js';
import { resourcePath } from './kube/discovery.js';
import { PreflightError } from './kube/errors.js';
import { PARENT_GROUP, PARENT_KIND, PARENT_VERSION, parentName } from './inventory.js';
import type { KubeObject } from './manifest.js';

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

export interface PreflightReport {
  readonly serverVersion: string;
  readonly context: string;
}

/**
 * Before anything is written: the cluster is reachable and runs a supported version, the CRDs
 * the objects need are Established, and the cluster does not already hold another env.
 * (The context check happens when the kubeconfig is loaded: see contextFor.)
 */
export async function preflight(engine: Engine, env: EnvConfig, desired: readonly KubeObject[]): Promise<PreflightReport> {
  // Independent reads go out together: the preflight costs one round trip plus discovery.
  const [version] = await Promise.all([
    engine.client.get<{ gitVersion: string; major: string; minor: string }>('/version'),
    engine.discovery.refresh(),
  ]);
  const minor = Number.parseInt(version.minor, 10);
  if (version.major !== '1' || !(minor >= SUPPORTED_MINORS.min && minor <= SUPPORTED_MINORS.max)) {
    throw new PreflightError(
      `the cluster runs Kubernetes ${version.gitVersion}; supported are 1.${SUPPORTED_MINORS.min}–1.${SUPPORTED_MINORS.max}`,
    );
  }
  const groups = new Set(desired.map((o) => (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '')));
  const crdInfo = await engine.info({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' });
  const parentInfo = await engine.discovery.resolveKnown(`${PARENT_GROUP}/${PARENT_VERSION}`, PARENT_KIND);
  const [crds, releases] = await Promise.all([
    Promise.all(
      [...groups].filter((g) => REQUIRED_CRDS[g]).map(async (g) => ({ req: REQUIRED_CRDS[g]!, crd: await engine.client.get<any>(resourcePath(crdInfo, undefined, REQUIRED_CRDS[g]!.crd), { allow404: true }) })),
    ),
    parentInfo ? engine.client.get<{ items: any[] }>(resourcePath(parentInfo)) : Promise.resolve({ items: [] as any[] }),
  ]);
  for (const { req, crd } of crds) {
    if (!crd) throw new PreflightError(`the cluster has no CRD ${req.crd}; ${req.install}`);
    const established = (crd.status?.conditions ?? []).some((c: any) => c.type === 'Established' && c.status === 'True');
    if (!established) throw new PreflightError(`CRD ${req.crd} is not Established yet; wait for it or check the API server's logs`);
  }

  // One env per cluster: refuse to put one env's objects where another env's inventory lives.
  const others = releases.items.filter((p) => p.metadata?.name !== parentName(env.name));
  if (others.length) {
    const names = others.map((p) => `${p.spec?.env ?? p.metadata.name}`).join(', ');
    throw new PreflightError(
      `the cluster behind context "${engine.client.contextName}" already holds env ${names}; refusing to deploy env ${env.name} over it (one env per cluster)`,
    );
  }
  return { serverVersion: version.gitVersion, context: engine.client.contextName };
}

/**
 * The context to use: the env's own. Another context is refused unless explicitly allowed, so
 * prod config never lands on a dev cluster by a stale current-context, and the reverse.
 */
export function contextFor(env: EnvConfig, requested: string | undefined, allowOther: boolean): string {
  if (requested && requested !== env.kube.context && !allowOther) {
    throw new PreflightError(
      `env ${env.name} deploys to context "${env.kube.context}", not "${requested}"; pass --allow-context-mismatch to override`,
    );
  }
  return requested ?? env.kube.context;
}
