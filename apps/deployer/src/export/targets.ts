import type { KubeObject } from '@bitpin/kube-client';

/** Where an export's objects are synced from: the Git repository, branch and directory it is committed to. */
export interface GitSource {
  /** e.g. `https://github.com/bitpin/platform-deploy.git` or `ssh://git@github.com/bitpin/platform-deploy.git`. */
  readonly repoUrl: string;
  readonly branch: string;
  /** The export's directory inside the repository, relative to its root, e.g. `envs/prod` (`.` for the root). */
  readonly path: string;
}

/** A wave of the export: its directory (`waves/<n>-<slug>`) and the object files in it. */
export interface ExportWave {
  readonly wave: number;
  readonly dir: string;
  readonly objects: readonly KubeObject[];
}

/** Namespace Argo CD's `Application` lives in (where Argo CD is installed). */
export const ARGOCD_NAMESPACE = 'argocd';
/** Namespace Flux's `GitRepository` and `Kustomization`s live in (where Flux is installed). */
export const FLUX_NAMESPACE = 'flux-system';

export const ARGOCD_SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
export const ARGOCD_SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';
export const FLUX_PRUNE = 'kustomize.toolkit.fluxcd.io/prune';

/** The repository path of a directory of the export, `./` prefixed as Flux writes it. */
export function repoPath(source: GitSource, dir?: string): string {
  const parts = [source.path === '.' ? '' : source.path, dir ?? ''].filter(Boolean);
  return parts.length ? `./${parts.join('/')}` : './';
}

/**
 * The Argo CD `Application` (argoproj.io/v1alpha1) that syncs the whole export: one source, the
 * root kustomization, applied in the waves its objects' `sync-wave` annotations give; automated
 * sync that prunes and heals drift, server-side apply (as the deployer applies), pruning last
 * (as the deployer does). No CreateNamespace: the set carries its namespaces (wave 0).
 */
export function argoApplication(env: string, source: GitSource): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: `bitpin-${env}`,
      namespace: ARGOCD_NAMESPACE,
      labels: { 'app.kubernetes.io/part-of': 'bitpin-platform', 'bitpin.io/env': env },
    },
    spec: {
      project: 'default',
      // Argo CD takes the path as written in its docs: relative to the root, no `./` (`.` is the root).
      source: { repoURL: source.repoUrl, targetRevision: source.branch, path: source.path },
      destination: { server: 'https://kubernetes.default.svc' },
      syncPolicy: {
        automated: { prune: true, selfHeal: true },
        syncOptions: ['ServerSideApply=true', 'PruneLast=true'],
        retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } },
      },
    },
  };
}

/** Flux's source of the export: the repository at the branch (source.toolkit.fluxcd.io/v1). */
export function fluxGitRepository(env: string, source: GitSource): KubeObject {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: `bitpin-${env}`, namespace: FLUX_NAMESPACE, labels: { 'app.kubernetes.io/part-of': 'bitpin-platform', 'bitpin.io/env': env } },
    spec: { interval: '1m', url: source.repoUrl, ref: { branch: source.branch } },
  };
}

/**
 * One Flux `Kustomization` (kustomize.toolkit.fluxcd.io/v1) per wave: each depends on the
 * previous one, so a wave is applied only once the one before it is applied and healthy
 * (`wait: true` health-checks every object it applied) — the deployer's own wave order. Each
 * prunes what left its wave; objects marked `kustomize.toolkit.fluxcd.io/prune: disabled` stay.
 */
export function fluxKustomizations(env: string, source: GitSource, waves: readonly ExportWave[]): KubeObject[] {
  const name = (w: ExportWave) => `bitpin-${env}-${w.dir.slice('waves/'.length)}`;
  return waves.map((w, i, all) => ({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: name(w), namespace: FLUX_NAMESPACE, labels: { 'app.kubernetes.io/part-of': 'bitpin-platform', 'bitpin.io/env': env } },
    spec: {
      ...(i > 0 ? { dependsOn: all.slice(i - 1, i).map((prev) => ({ name: name(prev) })) } : {}),
      interval: '10m',
      retryInterval: '1m',
      timeout: '10m',
      sourceRef: { kind: 'GitRepository', name: `bitpin-${env}` },
      path: repoPath(source, w.dir),
      prune: true,
      wait: true,
    },
  }));
}
