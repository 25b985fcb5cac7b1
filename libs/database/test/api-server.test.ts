/**
 * Every object the database tier adds for pooling, applied to the real kube-apiserver of the
 * shared control plane (tools/k8s-testenv, which installs CloudNativePG v1.28.2's CRDs, Pooler
 * included) with server-side apply and `fieldValidation=Strict`: the Poolers are validated by the
 * Pooler CRD's schema, the NetworkPolicies (with the matchExpressions that keep pooler pods out of
 * the database policy) and the ResourceQuota / LimitRange sized with the Poolers are admitted, and
 * every field sent is stored. In a namespace of its own, deleted afterwards.
 */
import { loadEnvConfig } from '@bitpin/config';
import { NamespaceBudget } from '@bitpin/k8s';
import { Testing } from 'cdk8s';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DatabaseChart } from '../src/index.js';
import { kubeFromConfig, type Kube } from '@bitpin/test-support';

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests and API responses are plain JSON */
const ns = `db-pooler-${randomBytes(3).toString('hex')}`;

/** prod's database chart with its namespace budget, moved into the test namespace. */
function prodObjects(): any[] {
  const env = loadEnvConfig('prod');
  const app = Testing.app();
  const chart = new DatabaseChart(app, 'db', { env });
  new NamespaceBudget(chart, 'Budget', { namespace: 'bitpin-task', objects: chart.toJson() });
  return (chart.toJson() as any[]).map((o) => ({ ...o, metadata: { ...o.metadata, namespace: ns } }));
}

const plural: Record<string, string> = { Cluster: 'clusters', Pooler: 'poolers', NetworkPolicy: 'networkpolicies', ResourceQuota: 'resourcequotas', LimitRange: 'limitranges' };
const pathOf = (o: any) => `${o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`}/namespaces/${o.metadata.namespace}/${plural[o.kind]}/${o.metadata.name}`;

/** `sent` is contained in `stored` (the server adds defaults and status; it must not drop or change what we sent). */
function expectStored(sent: any, stored: any, at: string): void {
  if (Array.isArray(sent)) {
    expect(Array.isArray(stored), `${at} is not a list`).toBe(true);
    expect(stored.length, `${at} length`).toBe(sent.length);
    sent.forEach((v, i) => expectStored(v, stored[i], `${at}[${i}]`));
  } else if (sent && typeof sent === 'object') {
    for (const [k, v] of Object.entries(sent)) expectStored(v, stored?.[k], `${at}.${k}`);
  } else {
    expect(stored, at).toEqual(sent);
  }
}

describe('database pooling objects on the real API server (CloudNativePG CRDs installed)', () => {
  let kube: Kube;
  const objects = prodObjects();

  beforeAll(async () => {
    // The k8s-testenv global setup provides the kubeconfig (this library may not import k8s-testenv's types).
    const kubeconfigPath = (inject as (k: string) => { kubeconfigPath: string } | undefined)('k8sTestEnv')?.kubeconfigPath ?? process.env['BITPIN_KUBECONFIG'];
    if (!kubeconfigPath) throw new Error('no kubeconfig from the k8s-testenv global setup (vitest.config.ts globalSetup)');
    kube = kubeFromConfig(kubeconfigPath);
    const r = await kube.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'k8s-testenv.bitpin.io/test': 'true' } } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  });
  afterAll(async () => {
    await kube?.call('DELETE', `/api/v1/namespaces/${ns}`);
  });

  it('prod renders the Cluster, two Poolers, four NetworkPolicies, a ResourceQuota and a LimitRange', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Cluster/bitpin-cluster',
      'LimitRange/bitpin-task-limits',
      'NetworkPolicy/bitpin-cluster',
      'NetworkPolicy/bitpin-cluster-clients',
      'NetworkPolicy/bitpin-cluster-pooler',
      'NetworkPolicy/bitpin-cluster-pooler-clients',
      'Pooler/bitpin-cluster-pooler-ro',
      'Pooler/bitpin-cluster-pooler-rw',
      'ResourceQuota/bitpin-task-quota',
    ]);
  });

  it('admits every pooling object with fieldValidation=Strict and stores every field sent', async () => {
    // The Cluster itself is applied by apps/deployer/test/cluster.test.ts (every env, Strict); the
    // Poolers only name it (spec.cluster.name), the API server does not resolve the reference.
    for (const o of objects.filter((x) => x.kind !== 'Cluster')) {
      const r = await kube.call('PATCH', `${pathOf(o)}?fieldManager=bitpin-test&fieldValidation=Strict&force=true`, o, 'application/apply-patch+yaml');
      expect(r.status, `${o.kind}/${o.metadata.name}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
      const got = await kube.call('GET', pathOf(o));
      expect(got.status).toBe(200);
      expectStored(o.spec, got.body.spec, `${o.kind}/${o.metadata.name}.spec`);
    }
  });

  it('fails a Pooler the CRD does not allow: an unknown pool mode and an unknown field are refused', async () => {
    const pooler = objects.find((o) => o.kind === 'Pooler');
    const bad = { ...pooler, metadata: { ...pooler.metadata, name: 'bad-pooler' }, spec: { ...pooler.spec, pgbouncer: { ...pooler.spec.pgbouncer, poolMode: 'statement' } } };
    const r = await kube.call('PATCH', `${pathOf(bad)}?fieldManager=bitpin-test&fieldValidation=Strict`, bad, 'application/apply-patch+yaml');
    expect(r.status).toBe(422);
    expect(r.body.message).toMatch(/spec\.pgbouncer\.poolMode: Unsupported value: "statement": supported values: "session", "transaction"/);
    const unknown = { ...bad, spec: { ...pooler.spec, pgbouncer: { ...pooler.spec.pgbouncer, poolSize: 10 } } };
    const u = await kube.call('PATCH', `${pathOf(unknown)}?fieldManager=bitpin-test&fieldValidation=Strict`, unknown, 'application/apply-patch+yaml');
    expect(u.status, JSON.stringify(u.body)).toBeGreaterThanOrEqual(400);
    expect(u.body.message).toMatch(/\.spec\.pgbouncer\.poolSize: field not declared in schema/);
  });
});
