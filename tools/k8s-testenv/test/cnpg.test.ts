import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError, hasCondition, type KubeObject, type ResponseInfo } from '@bitpin/kube-client';
import { CNPG_VERSION, cnpgCrdPaths } from '../src/index.js';
import { useTestNamespace } from '../src/vitest.js';

const ns = useTestNamespace({ prefix: 'cnpg' });

function cluster(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: { name, namespace }, spec };
}

const validSpec = {
  instances: 3,
  imageName: 'ghcr.io/cloudnative-pg/postgresql:17.5',
  storage: { size: '10Gi' },
  postgresql: { parameters: { max_connections: '200' } },
  affinity: { enablePodAntiAffinity: true, topologyKey: 'kubernetes.io/hostname', podAntiAffinityType: 'required' },
};

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe(`CloudNativePG ${CNPG_VERSION} CRDs`, () => {
  it('are read from the pinned Go module and Established in the API server', async () => {
    const paths = cnpgCrdPaths();
    expect(paths.map((p) => basename(p))).toContain('postgresql.cnpg.io_clusters.yaml');
    expect(paths[0]).toContain(`cloudnative-pg@${CNPG_VERSION}`);
    const crd = await ns.client.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'clusters.postgresql.cnpg.io');
    expect(hasCondition(crd, 'Established')).toBe(true);
  }, 15_000);

  it('accept a valid Cluster (server-side apply) and default it from the schema', async () => {
    const created = await ns.client.apply(cluster(ns.name, 'pg', validSpec), { fieldManager: 'deployer' });
    expect(created.metadata.uid).toBeTruthy();
    expect(created.spec.instances).toBe(3);
    expect(created.spec.primaryUpdateStrategy).toBe('unsupervised'); // a CRD schema default
  }, 15_000);

  it('reject an unknown field: create with fieldValidation=Strict → 400', async () => {
    const err = await rejection(ns.client.create(cluster(ns.name, 'typo', { ...validSpec, instancez: 3 }), { fieldValidation: 'Strict' }));
    expect(err.status).toBe(400);
    expect(err.message).toContain('strict decoding error: unknown field "spec.instancez"');
  }, 15_000);

  it('reject an unknown field: server-side apply fails on the typed schema (500 in 1.34, as on real clusters)', async () => {
    const err = await rejection(ns.client.apply(cluster(ns.name, 'typo', { ...validSpec, instancez: 3 })));
    // SSA builds a typed object from the CRD's structural schema before validation; an undeclared field
    // is reported as an internal error, not 400/422. The deployer must treat any non-2xx as a failure.
    expect(err.status).toBe(500);
    expect(err.message).toContain('.spec.instancez: field not declared in schema');
  }, 15_000);

  it('reject a wrongly typed field and a value outside the schema', async () => {
    const wrongType = await rejection(ns.client.create(cluster(ns.name, 'wrong-type', { ...validSpec, instances: 'three' })));
    expect(wrongType.status).toBe(422);
    expect(wrongType.message).toContain('spec.instances in body must be of type integer');

    const outOfRange = await rejection(ns.client.apply(cluster(ns.name, 'zero', { ...validSpec, instances: 0 })));
    expect(outOfRange.status).toBe(422);
    expect(outOfRange.message).toContain('spec.instances in body should be greater than or equal to 1');
  }, 15_000);

  it('only warn about unknown fields when validation is not strict', async () => {
    const res: ResponseInfo = {};
    await ns.client.request('POST', `/apis/postgresql.cnpg.io/v1/namespaces/${ns.name}/clusters`, {
      body: cluster(ns.name, 'lenient', { ...validSpec, instancez: 3 }),
      query: { fieldValidation: 'Warn', dryRun: 'All' },
      response: res,
    });
    expect(res.status).toBe(201);
    expect(res.warnings).toContain('unknown field "spec.instancez"');
  }, 15_000);
});
