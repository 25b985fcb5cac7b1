import { loadEnvConfig } from '@bitpin/config';
import { Testing } from 'cdk8s';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatabaseChart } from '../src/index.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized manifests are plain JSON */
type Overrides = Parameters<typeof loadEnvConfig>[1];
function synth(envName: string, options?: Overrides): any[] {
  return Testing.synth(new DatabaseChart(Testing.app(), 'db', { env: loadEnvConfig(envName, options) }));
}
const byKind = (objs: any[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: any[], name: string) => objs.find((o) => o.metadata.name === name);

describe('connection pooling (CloudNativePG Pooler)', () => {
  it('prod: a PgBouncer Pooler in front of -rw and one in front of -ro, sized from the env, in session mode', () => {
    // GIVEN prod (pooler and read replicas on) WHEN synthesized
    const objs = synth('prod');
    const poolers = byKind(objs, 'Pooler');
    // THEN two Poolers of the Cluster, typed from the pinned CRD
    expect(poolers.map((p) => [p.apiVersion, p.metadata.name, p.spec.type])).toEqual([
      ['postgresql.cnpg.io/v1', 'bitpin-cluster-pooler-rw', 'rw'],
      ['postgresql.cnpg.io/v1', 'bitpin-cluster-pooler-ro', 'ro'],
    ]);
    const rw = poolers[0];
    expect(rw.metadata.namespace).toBe('bitpin-task');
    expect(rw.spec.cluster).toEqual({ name: 'bitpin-cluster' });
    expect(rw.spec.instances).toBe(2);
    expect(rw.spec.pgbouncer).toEqual({
      poolMode: 'session',
      parameters: {
        default_pool_size: '25',
        min_pool_size: '0',
        reserve_pool_size: '5',
        max_db_connections: '30',
        max_client_conn: '1000',
        query_wait_timeout: '30',
        client_tls_sslmode: 'require',
        server_tls_sslmode: 'verify-full',
      },
    });
    expect(rw.spec.deploymentStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(rw.spec.template.spec.containers).toEqual([
      {
        name: 'pgbouncer',
        image: 'ghcr.io/cloudnative-pg/pgbouncer:1.25.1',
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
      },
    ]);
    // The cluster's server certificate names the poolers' Services (the app verifies it: verify-full).
    const cluster = byKind(objs, 'Cluster')[0];
    expect(cluster.spec.certificates.serverAltDNSNames).toEqual([
      'bitpin-cluster-pooler-rw',
      'bitpin-cluster-pooler-rw.bitpin-task',
      'bitpin-cluster-pooler-rw.bitpin-task.svc',
      'bitpin-cluster-pooler-rw.bitpin-task.svc.cluster.local',
      'bitpin-cluster-pooler-ro',
      'bitpin-cluster-pooler-ro.bitpin-task',
      'bitpin-cluster-pooler-ro.bitpin-task.svc',
      'bitpin-cluster-pooler-ro.bitpin-task.svc.cluster.local',
    ]);
  });

  it('without read replicas only the -rw pooler; transaction mode passes through', () => {
    const objs = synth('prod', { overrides: { database: { readReplicas: { enabled: false }, pooler: { poolMode: 'transaction' } } } });
    expect(byKind(objs, 'Pooler').map((p) => `${p.metadata.name} ${p.spec.pgbouncer.poolMode}`)).toEqual(['bitpin-cluster-pooler-rw transaction']);
    expect(byKind(objs, 'Cluster')[0].spec.certificates.serverAltDNSNames).toHaveLength(4);
  });

  it('local and dev: no Pooler, no certificate names, no pooler policies', () => {
    for (const env of ['local', 'dev']) {
      const objs = synth(env);
      expect(byKind(objs, 'Pooler')).toEqual([]);
      expect(byKind(objs, 'Cluster')[0].spec.certificates).toBeUndefined();
    }
  });

  it('prod policies: pooler clients → PgBouncer :5432, Prometheus → :9127, poolers → instances :5432 and the API server; the database policy leaves pooler pods alone', () => {
    const objs = byKind(synth('prod'), 'NetworkPolicy');
    expect(objs.map((p) => p.metadata.name).sort()).toEqual(['bitpin-cluster', 'bitpin-cluster-clients', 'bitpin-cluster-pooler', 'bitpin-cluster-pooler-clients']);
    const pooler = named(objs, 'bitpin-cluster-pooler');
    expect(pooler.spec.podSelector).toEqual({ matchLabels: { 'cnpg.io/cluster': 'bitpin-cluster', 'cnpg.io/podRole': 'pooler' } });
    expect(pooler.spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: { 'bitpin.io/database-pooler-client': 'true' } } }], ports: [{ protocol: 'TCP', port: 5432 }] },
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'prometheus' } } }],
        ports: [{ protocol: 'TCP', port: 9127 }],
      },
    ]);
    expect(pooler.spec.egress[0]).toEqual({
      to: [{ podSelector: { matchLabels: { 'cnpg.io/cluster': 'bitpin-cluster', 'cnpg.io/podRole': 'instance' } } }],
      ports: [{ protocol: 'TCP', port: 5432 }],
    });
    expect(pooler.spec.egress[1].ports.map((p: any) => p.port)).toEqual([443, 6443]);
    expect(named(objs, 'bitpin-cluster-pooler-clients').spec).toMatchObject({
      podSelector: { matchLabels: { 'bitpin.io/database-pooler-client': 'true' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { 'cnpg.io/cluster': 'bitpin-cluster', 'cnpg.io/podRole': 'pooler' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
    });
    expect(named(objs, 'bitpin-cluster').spec.podSelector).toEqual({
      matchLabels: { 'cnpg.io/cluster': 'bitpin-cluster' },
      matchExpressions: [{ key: 'cnpg.io/podRole', operator: 'NotIn', values: ['pooler'] }],
    });
  });
});

describe('what the CloudNativePG webhook would say (it does not run here: no operator)', () => {
  it("every PgBouncer parameter we send is on the operator's allowed list (internal/webhook/v1/pooler_webhook.go of the pinned module)", () => {
    // GIVEN the operator's source at the pinned version (from the Go module cache; `go mod download`)
    const version = readFileSync(join(import.meta.dirname, '../src/imports/CNPG_VERSION'), 'utf8').trim();
    const out = execFileSync('go', ['mod', 'download', '-json', `github.com/cloudnative-pg/cloudnative-pg@${version}`], { cwd: tmpdir(), encoding: 'utf8' });
    const dir = (JSON.parse(out) as { Dir: string }).Dir;
    const webhook = readFileSync(join(dir, 'internal/webhook/v1/pooler_webhook.go'), 'utf8');
    const block = /AllowedPgbouncerGenericConfigurationParameters = stringset\.From\(\[\]string\{([\s\S]*?)\}\)/.exec(webhook)?.[1] ?? '';
    const allowed = new Set([...block.matchAll(/"([a-z0-9_]+)"/g)].map((m) => m[1]));
    expect(allowed.size).toBeGreaterThan(30);
    // THEN the Pooler would be admitted: no parameter is reserved or unknown
    for (const env of ['staging', 'prod']) {
      for (const p of byKind(synth(env), 'Pooler')) {
        expect(Object.keys(p.spec.pgbouncer.parameters).filter((k) => !allowed.has(k)), `${env} ${p.metadata.name}`).toEqual([]);
      }
    }
  });
});
