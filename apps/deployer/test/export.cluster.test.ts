/**
 * The objects `deployer export` writes for Argo CD and Flux, created on the real API server (the
 * shared test control plane) with Argo CD's and Flux's own CRDs installed — the copies vendored
 * from their Go modules in test/fixtures/gitops-crds (see PROVENANCE.md there) — in a namespace
 * of this file's own, with strict field validation: an unknown or mistyped field is refused.
 */
import { ApiError, waitFor, type KubeObject } from '@bitpin/kube-client';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExportTree } from '../src/export.js';
import { synthesize } from '../src/synth.js';
import { REPO } from './support/export.js';

const CRD_DIR = join(import.meta.dirname, 'fixtures', 'gitops-crds');
const CRD_FILES = ['argoproj.io_applications.yaml', 'kustomize.toolkit.fluxcd.io_kustomizations.yaml', 'source.toolkit.fluxcd.io_gitrepositories.yaml'].map((f) => join(CRD_DIR, f));
const VERSIONS = JSON.parse(readFileSync(join(CRD_DIR, 'versions.json'), 'utf8')) as Record<string, string>;

// Loaded lazily, as the deployer itself loads the test control plane only for embedded envs.
const { installCrds, readCrds } = await import('@bitpin/k8s-testenv');
const { useTestNamespace } = await import('@bitpin/k8s-testenv/vitest');
const ns = useTestNamespace({ prefix: 'deployer-export' });

const CRD_NAMES = readCrds(CRD_FILES).map((c) => c.metadata.name);

beforeAll(async () => {
  // GIVEN Argo CD's Application and Flux's Kustomization and GitRepository CRDs, as their releases ship them
  expect(Object.keys(VERSIONS).sort()).toEqual(['github.com/argoproj/argo-cd/v3', 'github.com/fluxcd/kustomize-controller', 'github.com/fluxcd/source-controller']);
  // An earlier run's copies may still be terminating (their deletion is not waited for): let them go first.
  await waitFor(
    'earlier GitOps CRDs gone',
    async () => (await Promise.all(CRD_NAMES.map((n) => ns.client.tryGet('apiextensions.k8s.io/v1', 'CustomResourceDefinition', n)))).every((c) => !c?.metadata.deletionTimestamp),
    { timeoutMs: 120_000 },
  );
  await installCrds(ns.client, CRD_FILES);
}, 240_000);

afterAll(async () => {
  // The CRDs are this file's own: remove them. The API server finishes that in the background
  // (it deletes their objects first); a next run waits for it above.
  await Promise.all(CRD_NAMES.map((n) => ns.client.delete('apiextensions.k8s.io/v1', 'CustomResourceDefinition', n)));
}, 30_000);

/** The export's GitOps objects, moved into this file's namespace. */
function gitopsObjects(format: 'argocd' | 'flux'): KubeObject[] {
  const { env, objects } = synthesize('prod');
  const tree = buildExportTree(env, objects, { format, source: { repoUrl: REPO, branch: 'main', path: 'envs/prod' }, secrets: 'omit' });
  return tree.gitops.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: ns.name } }));
}

/** Creates the object for real (strict field validation) and returns what the server stored. */
async function createAndRead(o: KubeObject): Promise<KubeObject> {
  await ns.client.create(o, { fieldValidation: 'Strict' });
  return ns.client.get(o.apiVersion, o.kind, o.metadata.name, ns.name);
}

describe('export: the GitOps objects are accepted by the API server with the tools\' own CRDs', () => {
  it('argocd: the Application is stored with every field sent (nothing pruned by the schema)', async () => {
    const [app, ...rest] = gitopsObjects('argocd');
    expect(rest).toEqual([]);
    const stored = await createAndRead(app!);
    expect(stored.spec).toMatchObject(app!.spec);
    expect(stored.metadata.labels).toEqual(app!.metadata.labels);
  });

  it('flux: the GitRepository and every wave\'s Kustomization are stored with every field sent', async () => {
    const objects = gitopsObjects('flux');
    expect(objects.map((o) => o.kind)).toEqual(['GitRepository', 'Kustomization', 'Kustomization', 'Kustomization', 'Kustomization']);
    for (const o of objects) {
      const stored = await createAndRead(o);
      // Every field sent is stored (the server adds its defaults, e.g. the GitRepository's timeout).
      expect(stored.spec, `${o.kind}/${o.metadata.name}`).toMatchObject(o.spec);
    }
  });

  it('fails for what the schemas refuse: the CRDs do validate (a wave without a source, an scp-style URL for Flux)', async () => {
    const [, ks] = gitopsObjects('flux');
    const { sourceRef: _, ...noSource } = ks!.spec;
    const refused = await ns.client.create({ ...ks!, metadata: { ...ks!.metadata, name: 'no-source' }, spec: noSource }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(422);
    expect((refused as Error).message).toMatch(/sourceRef/);
    const [repo] = gitopsObjects('flux');
    const scp = await ns.client.create({ ...repo!, metadata: { ...repo!.metadata, name: 'scp-url' }, spec: { ...repo!.spec, url: 'git@git.example.com:bitpin/deploy.git' } }).catch((e: unknown) => e);
    expect((scp as ApiError).status).toBe(422);
    const [app] = gitopsObjects('argocd');
    const typo = await ns.client.create({ ...app!, metadata: { ...app!.metadata, name: 'typo' }, spec: { ...app!.spec, syncPolicy: { ...app!.spec.syncPolicy, automated: { prune: true, selfheal: true } } } }).catch((e: unknown) => e);
    expect((typo as ApiError).status).toBeGreaterThanOrEqual(400);
    expect((typo as Error).message).toMatch(/selfheal/);
  });
});
