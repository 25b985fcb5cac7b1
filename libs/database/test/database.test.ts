import { ENV_NAMES, loadEnvConfig } from '@bitpin/config';
import { PlatformChart } from '@bitpin/k8s';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { BitpinCluster, DatabaseChart } from '../src/index.js';

function synth(envName: string, props = {}): any[] {
  return Testing.synth(new DatabaseChart(Testing.app(), 'db', { env: loadEnvConfig(envName), cluster: props }));
}

describe.each(ENV_NAMES)('database in env %s keeps every seed fact', (envName) => {
  const [cluster] = synth(envName);

  it('is the CloudNativePG Cluster bitpin-cluster in bitpin-task', () => {
    expect(cluster.apiVersion).toBe('postgresql.cnpg.io/v1');
    expect(cluster.kind).toBe('Cluster');
    expect(cluster.metadata).toMatchObject({ name: 'bitpin-cluster', namespace: 'bitpin-task' });
  });

  it('runs 2 instances of PostgreSQL 15.3 on per-instance volumes', () => {
    expect(cluster.spec.instances).toBe(2);
    expect(cluster.spec.imageName).toBe('ghcr.io/cloudnative-pg/postgresql:15.3');
    expect(cluster.spec.storage.size).toBe(loadEnvConfig(envName).database.storageSize);
  });

  it('keeps HA replication slots, synchronised to standbys', () => {
    expect(cluster.spec.replicationSlots).toEqual({
      highAvailability: { enabled: true },
      synchronizeReplicas: { enabled: true },
      updateInterval: 30,
    });
  });

  it('allows logical replication and bounds slot WAL retention', () => {
    expect(cluster.spec.postgresql.parameters).toMatchObject({
      wal_level: 'logical',
      max_slot_wal_keep_size: loadEnvConfig(envName).database.maxSlotWalKeepSize,
      archive_timeout: '5min',
    });
    for (const v of Object.values(cluster.spec.postgresql.parameters)) expect(typeof v).toBe('string');
  });

  it('bootstraps the app database and owner, with checksums, and no superuser access', () => {
    expect(cluster.spec.bootstrap.initdb).toEqual({ database: 'app', owner: 'app', dataChecksums: true, encoding: 'UTF8' });
    expect(cluster.spec.enableSuperuserAccess).toBe(false);
  });

  it('spreads instances across nodes and sets resources', () => {
    expect(cluster.spec.affinity).toMatchObject({ enablePodAntiAffinity: true, topologyKey: 'kubernetes.io/hostname' });
    expect(cluster.spec.resources.requests.memory).toBeDefined();
    expect(cluster.spec.resources.limits.memory).toBeDefined();
  });
});

describe('database options', () => {
  it('prod requires instances on different nodes; dev only prefers it', () => {
    expect(synth('prod')[0].spec.affinity.podAntiAffinityType).toBe('required');
    expect(synth('dev')[0].spec.affinity.podAntiAffinityType).toBe('preferred');
  });

  it('sizes shared_buffers from the memory limit', () => {
    // dev: 1Gi limit → 256MB shared_buffers, 768MB effective_cache_size
    expect(synth('dev')[0].spec.postgresql.parameters).toMatchObject({ shared_buffers: '256MB', effective_cache_size: '768MB' });
  });

  it('acknowledges commits once the WAL receiver has them where backup.walReceiver.synchronous says so', () => {
    // GIVEN prod (fallback), dev (off) and dev switched to strict
    const dev = loadEnvConfig('dev');
    const strict = { ...dev, backup: { ...dev.backup, walReceiver: { ...dev.backup.walReceiver, synchronous: 'strict' as const } } };
    // THEN prod lists the receiver first, then the instances; strict lists only the receiver; off sets nothing
    expect(synth('prod')[0].spec.postgresql.synchronous).toEqual({ method: 'first', number: 1, dataDurability: 'required', standbyNamesPre: ['bitpin_wal_receiver'] });
    expect(synth('dev')[0].spec.postgresql.synchronous).toBeUndefined();
    const [cluster] = Testing.synth(new DatabaseChart(Testing.app(), 'db', { env: strict }));
    expect((cluster as any).spec.postgresql.synchronous).toEqual({ method: 'first', number: 1, dataDurability: 'required', standbyNamesPre: ['bitpin_wal_receiver'], maxStandbyNamesFromCluster: 0 });
    // and a receiver that is off never holds up commits
    const off = { ...strict, backup: { ...strict.backup, walReceiver: { ...strict.backup.walReceiver, enabled: false } } };
    expect((Testing.synth(new DatabaseChart(Testing.app(), 'db', { env: off }))[0] as any).spec.postgresql.synchronous).toBeUndefined();
  });

  it('takes managed roles and pg_hba rules from its caller (for example the backup role)', () => {
    const [cluster] = synth('dev', {
      roles: [{ name: 'bitpin_backup', login: true, replication: true, passwordSecret: { name: 'bitpin-backup-role' } }],
      pgHba: ['hostssl replication bitpin_backup all scram-sha-256'],
    });
    expect(cluster.spec.managed.roles).toEqual([
      { name: 'bitpin_backup', login: true, replication: true, passwordSecret: { name: 'bitpin-backup-role' } },
    ]);
    expect(cluster.spec.postgresql.pg_hba).toEqual(['hostssl replication bitpin_backup all scram-sha-256']);
  });

  it('fails when a managed role would redefine the app owner', () => {
    const chart = new PlatformChart(Testing.app(), 'c', { env: loadEnvConfig('dev') });
    expect(() => new BitpinCluster(chart, 'x', { roles: [{ name: 'app' }] })).toThrowError(
      "BitpinCluster: 'roles' must not redefine the app owner 'app' (bootstrap.initdb owns it)",
    );
  });

  it('matches the prod snapshot', () => {
    expect(synth('prod')).toMatchSnapshot();
  });
});
