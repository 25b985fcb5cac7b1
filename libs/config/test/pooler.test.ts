import { describe, expect, it } from 'vitest';
import { cnpgNames, loadEnvConfig, SEED } from '../src/index.js';
import { errorOf } from './support/errors.js';

describe('connection pooling and read replicas config', () => {
  it('is off in local, dev and the seed defaults, on in staging and prod, in session mode', () => {
    // GIVEN the shipped envs THEN pooling and read replicas are where the issue says (off in local, on in prod)
    for (const name of ['local', 'dev'] as const) {
      const db = loadEnvConfig(name).database;
      expect(db.pooler.enabled).toBe(false);
      expect(db.readReplicas.enabled).toBe(false);
    }
    for (const name of ['staging', 'prod'] as const) {
      const db = loadEnvConfig(name).database;
      expect(db.pooler).toMatchObject({ enabled: true, instances: 2, poolMode: 'session', reservePoolSize: 5, maxClientConn: 1000 });
      expect(db.readReplicas.enabled).toBe(true);
      expect(db.instances).toBeGreaterThanOrEqual(2);
    }
    expect(loadEnvConfig('prod').database.pooler.defaultPoolSize).toBe(25);
    expect(loadEnvConfig('prod').images.pgbouncer).toBe('ghcr.io/cloudnative-pg/pgbouncer:1.25.1');
    expect(cnpgNames()).toMatchObject({ poolerRw: 'bitpin-cluster-pooler-rw', poolerRo: 'bitpin-cluster-pooler-ro' });
    expect(SEED.database.pooler).toEqual({ port: 5432, metricsPort: 9127 });
    expect(SEED.monitoring.jobs.pooler).toBe('pgbouncer');
  });

  it('fails when the poolers could take more than 80% of max_connections: one line with the numbers and the fix', () => {
    const e = errorOf(() => loadEnvConfig('prod', { overrides: { database: { pooler: { defaultPoolSize: 120 } } } }));
    expect(e.lines).toHaveLength(1);
    expect(e.message).toMatch(
      /env "prod" at database\.pooler\.defaultPoolSize: the rw pooler may open 250 server connections \(instances 2 × \(defaultPoolSize 120 \+ reservePoolSize 5\)\), over 80% of database\.maxConnections \(300\); lower them or raise database\.maxConnections/,
    );
    // The same sizes with pooling off are not checked (nothing opens them).
    expect(loadEnvConfig('dev', { overrides: { database: { pooler: { defaultPoolSize: 500 } } } }).database.pooler.enabled).toBe(false);
  });

  it('fails on min_pool_size above default_pool_size, an unknown pool mode, and read replicas without a replica', () => {
    expect(errorOf(() => loadEnvConfig('prod', { overrides: { database: { pooler: { minPoolSize: 30 } } } })).message).toMatch(
      /at database\.pooler\.minPoolSize: 30 is above database\.pooler\.defaultPoolSize \(25\); lower it/,
    );
    expect(errorOf(() => loadEnvConfig('prod', { overrides: { database: { pooler: { poolMode: 'statement' as never } } } })).message).toMatch(
      /at database\.pooler\.poolMode: .*"session"\|"transaction"/,
    );
    const r = errorOf(() => loadEnvConfig('prod', { overrides: { database: { instances: 1 } } }));
    expect(r.lines).toHaveLength(1);
    expect(r.message).toMatch(/at database\.readReplicas\.enabled: needs a replica to read from, but database\.instances is 1; set database\.instances to 2 or more, or turn read replicas off/);
  });
});
