import { ENV_NAMES, loadEnvConfig, SEED } from '@bitpin/config';
import { PlatformChart } from '@bitpin/k8s';
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { BackupChart, Backups, backupDatabaseAccess, OFFSITE_CLIENT_LABEL, OFFSITE_CRONJOB, OFFSITE_SECRET_KEYS, readScripts, restoreJobYaml, SCRIPT_FILES, type BackupsProps, type RestoreJobProps } from '../src/index.js';

type Obj = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string>; automountServiceAccountToken?: boolean };

function synth(envName = 'dev', props: BackupsProps = {}): Obj[] {
  const app = Testing.app();
  const chart = new BackupChart(app, 'backup', { env: loadEnvConfig(envName), backups: props });
  return Testing.synth(chart) as Obj[];
}
const find = (objs: Obj[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name}`);
  return o;
};
const podOf = (cj: Obj) => cj.spec.jobTemplate.spec.template.spec;
const envOf = (pod: any): Record<string, any> => Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

function restoreJob(props: RestoreJobProps, envName = 'dev'): Obj {
  const chart = new PlatformChart(Testing.app(), 'r', { env: loadEnvConfig(envName) });
  new Backups(chart, 'Backups').addRestoreJob('Restore', props);
  return find(Testing.synth(chart) as Obj[], 'Job', props.name ?? 'bitpin-restore');
}

describe('BackupChart', () => {
  it.each(ENV_NAMES)('%s: the seed CronJobs with their schedules in UTC, in bitpin-task', (envName) => {
    const env = loadEnvConfig(envName);
    const objs = synth(envName);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/bitpin-backup-scripts',
      'CronJob/bitpin-backup-verify',
      'CronJob/bitpin-full-backup',
      'CronJob/bitpin-incremental-backup',
      'Deployment/bitpin-wal-receiver',
      ...(env.features.networkPolicies.enabled ? ['NetworkPolicy/bitpin-wal-receiver'] : []),
      'PersistentVolumeClaim/bitpin-backup',
      'ServiceAccount/bitpin-backup',
    ]);
    expect(objs.every((o) => o.metadata.namespace === 'bitpin-task')).toBe(true);
    const full = find(objs, 'CronJob', 'bitpin-full-backup');
    const incr = find(objs, 'CronJob', 'bitpin-incremental-backup');
    expect([full.spec.schedule, full.spec.timeZone]).toEqual(['0 2 * * *', 'Etc/UTC']);
    expect([incr.spec.schedule, incr.spec.timeZone]).toEqual(['*/15 * * * *', 'Etc/UTC']);
    expect(envOf(podOf(full))['BACKUP_KEEP_FULL']).toBe(String(env.backup.full.keep));
    expect(envOf(podOf(full))['BACKUP_RETENTION_DAYS']).toBe(String(env.backup.retentionDays));
    expect(find(objs, 'PersistentVolumeClaim', 'bitpin-backup').spec.resources.requests.storage).toBe(env.backup.storageSize);
  });

  it('every CronJob forbids overlap, bounds its start and run, keeps history and fails without retry storms', () => {
    const objs = synth();
    for (const [name, deadline, backoff] of [
      ['bitpin-full-backup', 21_600, 1],
      ['bitpin-incremental-backup', 780, 0],
      ['bitpin-backup-verify', 14_400, 0],
    ] as const) {
      const cj = find(objs, 'CronJob', name);
      expect(cj.spec).toMatchObject({ concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3, suspend: false });
      expect(cj.spec.startingDeadlineSeconds).toBeGreaterThan(0);
      expect(cj.spec.jobTemplate.spec).toMatchObject({ activeDeadlineSeconds: deadline, backoffLimit: backoff });
    }
    // An incremental run ends before the next one is due, and pg_receivewal before the run.
    const incr = podOf(find(objs, 'CronJob', 'bitpin-incremental-backup'));
    expect(Number(envOf(incr)['BACKUP_RECEIVE_TIMEOUT'])).toBeLessThan(780);
  });

  it('Pods are restricted: non-root uid 26, no token, read-only root, every capability dropped, resources per env', () => {
    const env = loadEnvConfig('prod');
    for (const cj of synth('prod').filter((o) => o.kind === 'CronJob')) {
      const pod = podOf(cj);
      expect(pod).toMatchObject({ serviceAccountName: 'bitpin-backup', automountServiceAccountToken: false, restartPolicy: 'Never' });
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 26, fsGroup: 26, seccompProfile: { type: 'RuntimeDefault' } });
      const c = pod.containers[0];
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(c.image).toBe(env.images.backup);
      expect(c.resources).toEqual({ requests: env.backup.resources.requests, limits: { memory: env.backup.resources.limits.memory } });
      expect(pod.volumes.some((v: any) => v.hostPath)).toBe(false);
    }
    expect(find(synth(), 'ServiceAccount', 'bitpin-backup').automountServiceAccountToken).toBe(false);
  });

  it('backup Pods reach bitpin-cluster-rw with TLS verify-full as the dedicated role; verification needs no credentials', () => {
    const objs = synth();
    for (const name of ['bitpin-full-backup', 'bitpin-incremental-backup']) {
      const pod = podOf(find(objs, 'CronJob', name));
      const env = envOf(pod);
      expect(env).toMatchObject({ PGHOST: 'bitpin-cluster-rw', PGPORT: '5432', PGDATABASE: 'app', PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/etc/bitpin-backup/ca/ca.crt', BACKUP_SLOT: 'bitpin_backup' });
      expect(env['PGUSER']).toEqual({ secretKeyRef: { name: SEED.backup.credentialsSecret, key: 'username' } });
      expect(env['PGPASSWORD']).toEqual({ secretKeyRef: { name: SEED.backup.credentialsSecret, key: 'password' } });
      // Only the CA certificate of bitpin-cluster-ca is mounted, never its private key.
      expect(pod.volumes.find((v: any) => v.name === 'ca').secret).toEqual({ secretName: 'bitpin-cluster-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o440 });
    }
    const verify = JSON.stringify(podOf(find(objs, 'CronJob', 'bitpin-backup-verify')));
    expect(verify).not.toMatch(/secret/i);
    expect(verify).not.toContain('PGPASSWORD');
  });

  it('the ConfigMap carries every script byte for byte, and each CronJob runs one of them', () => {
    const objs = synth();
    const cm = find(objs, 'ConfigMap', 'bitpin-backup-scripts');
    expect(Object.keys(cm.data!).sort()).toEqual([...SCRIPT_FILES].sort());
    expect(cm.data).toEqual(readScripts());
    for (const [name, s] of Object.entries(cm.data!)) {
      if (name === 'bitpin_metrics_http.py') {
        // the WAL receiver's metrics container runs it as python3 -I -S <file>
        expect(s, name).toMatch(/^if __name__ == "__main__":$/m);
        const metrics = find(objs, 'Deployment', 'bitpin-wal-receiver').spec.template.spec.containers[1];
        expect(metrics.command.slice(0, 4)).toEqual(['python3', '-I', '-S', `/opt/bitpin-backup/scripts/${name}`]);
      } else if (name.endsWith('.py')) {
        // run by lib.sh as python3 -I -S <file>: the standard library only
        expect(s, name).toMatch(/^if __name__ == "__main__":$/m);
        expect(['lib-compression.sh', 'lib-wal.sh'].some((lib) => cm.data![lib]!.includes(`python3 -I -S "$BITPIN_LIB_DIR/${name}"`)), name).toBe(true);
      } else if (name.startsWith('lib-')) {
        // a part of lib.sh, which sets the shell options before it sources each part
        expect(s, name).toMatch(/^# Part of lib\.sh, sourced by it/m);
        expect(cm.data!['lib.sh'], name).toContain(`source "$BITPIN_LIB_DIR/${name}"`);
      } else {
        expect(s, name).toMatch(/set -euo pipefail/);
      }
    }
    const commands = objs.filter((o) => o.kind === 'CronJob').map((cj) => podOf(cj).containers[0].command);
    expect(commands).toEqual([
      ['bash', '/opt/bitpin-backup/scripts/full-backup.sh'],
      ['bash', '/opt/bitpin-backup/scripts/incremental-backup.sh'],
      ['bash', '/opt/bitpin-backup/scripts/verify-restore.sh'],
    ]);
    expect(podOf(objs.find((o) => o.kind === 'CronJob')!).volumes[0]).toEqual({ name: 'scripts', configMap: { name: 'bitpin-backup-scripts', defaultMode: 0o555 } });
  });

  it('tells the database what to grant: a replication role reading all data, a TLS-only pg_hba rule, one-off grants', () => {
    const access = backupDatabaseAccess(loadEnvConfig('prod'));
    expect(access.roles).toEqual([
      expect.objectContaining({ name: 'bitpin_backup', login: true, replication: true, superuser: false, inRoles: ['pg_read_all_data'], passwordSecret: { name: 'bitpin-backup-credentials' } }),
    ]);
    expect(access.pgHba).toEqual(['hostssl replication bitpin_backup all scram-sha-256']);
    expect(access.setupSql).toContain('GRANT EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() TO bitpin_backup;');
    expect(access.setupSql).toContain('GRANT CREATE ON DATABASE "app" TO bitpin_backup;');
    expect(new BackupChart(Testing.app(), 'b', { env: loadEnvConfig('dev') }).backups.databaseAccess).toEqual(backupDatabaseAccess(loadEnvConfig('dev')));
  });

  it('matches the dev snapshot (scripts abbreviated)', () => {
    const objs = synth('dev').map((o) => (o.kind === 'ConfigMap' ? { ...o, data: Object.fromEntries(Object.keys(o.data!).map((k) => [k, '<script>'])) } : o));
    expect(objs).toMatchSnapshot();
  });

  it.each<[string, BackupsProps, RegExp]>([
    ['an incremental deadline past the schedule', { incrementalActiveDeadlineSeconds: 900 }, /'incrementalActiveDeadlineSeconds' \(900\) must stay below the 15-minute schedule/],
    ['a broken verify schedule', { verifySchedule: '0 4 * *' }, /'verifySchedule' \("0 4 \* \*"\) is not a valid cron expression: expected 5 fields/],
    ['an unknown compression', { compression: 'brotli' }, /'compression' \("brotli"\) must be none, gzip, lz4 or zstd/],
    ['a fractional deadline', { fullActiveDeadlineSeconds: 1.5 }, /'fullActiveDeadlineSeconds' \(1.5\) must be a whole number from 600 to 86400/],
    ['root', { runAsUser: 0 }, /'runAsUser' \(0\) must be a whole number from 1/],
  ])('fails on %s, naming the prop and the value', (_what, props, message) => {
    expect(() => synth('dev', props)).toThrowError(message);
  });
});

describe('WAL receiver (backup.walReceiver)', () => {
  const receiverOf = (objs: Obj[]) => find(objs, 'Deployment', 'bitpin-wal-receiver');

  it('one replica, Recreate, running wal-receiver.sh on the backup volume with its own slot, as the backup role over verify-full', () => {
    const d = receiverOf(synth('prod'));
    expect(d.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' }, selector: { matchLabels: { 'app.kubernetes.io/name': 'bitpin-backup', 'app.kubernetes.io/instance': 'bitpin-wal-receiver' } } });
    const pod = d.spec.template.spec;
    expect(pod.restartPolicy).toBe('Always');
    expect(pod.containers.map((c: any) => c.name)).toEqual(['receiver', 'metrics']);
    const [receiver, metrics] = pod.containers;
    expect(receiver.command).toEqual(['bash', '/opt/bitpin-backup/scripts/wal-receiver.sh']);
    expect(envOf(pod)).toMatchObject({
      PGHOST: 'bitpin-cluster-rw',
      PGSSLMODE: 'verify-full',
      BACKUP_DIR: '/backup',
      BACKUP_SLOT: 'bitpin_backup',
      BACKUP_RECEIVER_SLOT: 'bitpin_wal_receiver',
      BACKUP_RECEIVER_NAME: 'bitpin_wal_receiver',
      BACKUP_COMPRESSION: 'gzip:1',
    });
    expect(envOf(pod)['PGPASSWORD']).toEqual({ secretKeyRef: { name: SEED.backup.credentialsSecret, key: 'password' } });
    expect(pod.volumes.find((v: any) => v.name === 'backup')).toEqual({ name: 'backup', persistentVolumeClaim: { claimName: 'bitpin-backup' } });
    expect(d.spec.template.metadata.labels['bitpin.io/database-client']).toBe('true');
    // the metrics container serves the receiver's file on port metrics (9188) and checks it is fresh
    expect(metrics.ports).toEqual([{ name: 'metrics', containerPort: 9188, protocol: 'TCP' }]);
    expect(metrics.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(receiver.livenessProbe.exec.command.join(' ')).toContain('/tmp/bitpin-wal-receiver/metrics.prom');
    expect(metrics.volumeMounts.map((m: any) => m.name).sort()).toEqual(['scripts', 'tmp']);
  });

  it('as restricted as the backup Jobs: non-root uid 26, no token, read-only root, every capability dropped', () => {
    const pod = receiverOf(synth('prod')).spec.template.spec;
    expect(pod).toMatchObject({ serviceAccountName: 'bitpin-backup', automountServiceAccountToken: false, enableServiceLinks: false });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 26, fsGroup: 26, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of pod.containers) {
      expect(c.securityContext, c.name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(c.resources.limits.memory, c.name).toBeDefined();
    }
  });

  it('with network policies, only Prometheus reaches it (9188); it reaches the database through the database-client label', () => {
    const env = loadEnvConfig('prod');
    expect(env.features.networkPolicies.enabled).toBe(true);
    const np = find(synth('prod'), 'NetworkPolicy', 'bitpin-wal-receiver');
    expect(np.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'bitpin-backup', 'app.kubernetes.io/instance': 'bitpin-wal-receiver' } });
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    expect(np.spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'prometheus' } } }],
        ports: [{ protocol: 'TCP', port: 9188 }],
      },
    ]);
  });

  it('off: no receiver (the incremental run streams by itself, as before)', () => {
    const dev = loadEnvConfig('dev');
    const env = { ...dev, backup: { ...dev.backup, walReceiver: { ...dev.backup.walReceiver, enabled: false } } };
    const objs = Testing.synth(new BackupChart(Testing.app(), 'b', { env })) as Obj[];
    expect(objs.some((o) => o.kind === 'Deployment')).toBe(false);
  });
});

describe('RestoreJob', () => {
  it('PITR to a time: replays in scratch, exports a dump to the volume, and holds no database credentials', () => {
    const job = restoreJob({ targetTime: '2026-01-31T14:05:00Z', name: 'restore-jan31' });
    const pod = job.spec.template.spec;
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 21_600 });
    expect(envOf(pod)).toMatchObject({ RESTORE_TARGET_TIME: '2026-01-31T14:05:00Z', PGDATABASE: 'app' });
    expect(pod.containers[0].command.at(-1)).toContain('RESTORE_MODE=pitr RESTORE_PGDATA=/scratch/pgdata RESTORE_EXPORT_DUMP=/backup/restores/restore-jan31/app.dump');
    expect(JSON.stringify(pod)).not.toMatch(/secretKeyRef|PGPASSWORD/);
    expect(job.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'bitpin-backup', 'app.kubernetes.io/instance': 'restore-jan31' });
  });

  it('PITR with load: then restores the export into the cluster as the app owner over verify-full', () => {
    const pod = restoreJob({ targetTime: '2026-01-31T14:05:00+03:30', load: true }).spec.template.spec;
    const script = pod.containers[0].command.at(-1) as string;
    expect(script.split('\n')).toHaveLength(3);
    expect(script).toContain('env -u RESTORE_TARGET_TIME -u RESTORE_TARGET_LSN RESTORE_MODE=logical RESTORE_DUMP=/backup/restores/bitpin-restore/app.dump RESTORE_DBNAME=app');
    expect(envOf(pod)).toMatchObject({ PGHOST: 'bitpin-cluster-rw', PGSSLMODE: 'verify-full', PGUSER: { secretKeyRef: { name: 'bitpin-cluster-app', key: 'username' } } });
  });

  it('logical: loads the newest (or a named) full backup dump', () => {
    const pod = restoreJob({ mode: 'logical', backupId: '20260131T020000Z' }).spec.template.spec;
    expect(pod.containers[0].command.at(-1)).toContain('RESTORE_MODE=logical RESTORE_DBNAME=app bash /opt/bitpin-backup/scripts/restore.sh');
    expect(envOf(pod)['RESTORE_BACKUP_ID']).toBe('20260131T020000Z');
  });

  it.each<[string, RestoreJobProps, RegExp]>([
    ['a time without a zone', { targetTime: '2026-01-31 14:05' }, /'targetTime' \("2026-01-31 14:05"\) must be an ISO 8601 time with a zone/],
    ['a time and an LSN', { targetTime: '2026-01-31T14:05:00Z', targetLsn: '0/3000060' }, /set 'targetTime' or 'targetLsn', not both/],
    ['a logical restore with a target', { mode: 'logical', targetTime: '2026-01-31T14:05:00Z' }, /need mode 'pitr'/],
    ['a logical restore without load', { mode: 'logical', load: false }, /would do nothing/],
    ['a bad backup id', { backupId: 'latest' }, /'backupId' \("latest"\) must name a full backup directory/],
    ['a bad name', { name: 'Restore_1' }, /'name' \("Restore_1"\) must be a DNS label/],
  ])('fails on %s', (_what, props, message) => {
    expect(() => restoreJob(props)).toThrowError(message);
  });

  it('the CLI prints the Job as YAML and refuses bad input in one line', () => {
    const yaml = restoreJobYaml(['restore-job', '--env', 'prod', '--target-time', '2026-01-31T14:05:00Z', '--load']);
    expect(yaml).toMatch(/^kind: Job$/m);
    expect(yaml).toMatch(/bitpin\.io\/restore-target: "?2026-01-31T14:05:00Z"?/);
    expect(yaml).toMatch(/bitpin\.io\/env: prod/);
    expect(() => restoreJobYaml(['restore-job', '--env', 'qa'])).toThrowError(/unknown env "qa"/);
    expect(restoreJobYaml(['restore-job', '--environment=dev', '--mode=logical'])).toMatch(/bitpin\.io\/restore-mode: logical/);
    expect(restoreJobYaml(['restore-job', '--environment=dev', '--targetTime=2026-01-31T14:05:00Z'])).toMatch(/RESTORE_TARGET_TIME/);
    expect(() => restoreJobYaml(['restore-job'])).toThrowError(/--env is required/);
  });
});

describe('off-site copy (backup.offsite)', () => {
  const offsite = { enabled: true, endpoint: 'https://s3.eu-central-1.example.com', bucket: 'bitpin-backups', egress: { cidrs: ['203.0.113.10/32'], ports: [443] } };
  const envWith = (envName: string, o: Record<string, unknown> = offsite) => loadEnvConfig(envName, { overrides: { backup: { offsite: o } } as never });
  function synthWith(envName: string, o?: Record<string, unknown>): Obj[] {
    const chart = new BackupChart(Testing.app(), 'backup', { env: envWith(envName, o) });
    return Testing.synth(chart) as Obj[];
  }

  it('off by default: no off-site CronJob, no rclone, no egress', () => {
    const objs = synth('prod');
    expect(objs.some((o) => o.metadata.name === OFFSITE_CRONJOB)).toBe(false);
    expect(objs.filter((o) => o.kind === 'CronJob').some((cj) => podOf(cj).initContainers)).toBe(false);
    // (the WAL receiver's policy admits only Prometheus, in)
    expect(objs.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name !== 'bitpin-wal-receiver')).toBe(false);
  });

  it('on: CronJob bitpin-offsite-backup runs offsite.sh with rclone copied in, the store from the env and every key from the Secret; no database credentials', () => {
    const env = envWith('prod');
    const objs = synthWith('prod');
    const cj = find(objs, 'CronJob', OFFSITE_CRONJOB);
    expect(cj.spec).toMatchObject({ schedule: env.backup.offsite.schedule, concurrencyPolicy: 'Forbid', timeZone: 'Etc/UTC' });
    expect(cj.spec.jobTemplate.spec.backoffLimit).toBe(0);
    const pod = podOf(cj);
    expect(pod.containers[0].command).toEqual(['bash', '/opt/bitpin-backup/scripts/offsite.sh']);
    expect(pod.initContainers.map((c: any) => [c.image, c.command.join(' ')])).toEqual([[env.images.rclone, 'cp /usr/local/bin/rclone /opt/bitpin-rclone/rclone']]);
    expect(pod.initContainers[0].securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    const e = envOf(pod);
    expect(e).toMatchObject({
      BACKUP_OFFSITE_ENDPOINT: 'https://s3.eu-central-1.example.com',
      BACKUP_OFFSITE_BUCKET: 'bitpin-backups',
      BACKUP_OFFSITE_PREFIX: 'bitpin/prod',
      BACKUP_OFFSITE_KEEP_FULL: String(env.backup.offsite.keepFull),
      RCLONE_BIN_DIR: '/opt/bitpin-rclone',
    });
    for (const [name, key] of [
      ['BACKUP_OFFSITE_ACCESS_KEY_ID', 'access-key-id'],
      ['BACKUP_OFFSITE_SECRET_ACCESS_KEY', 'secret-access-key'],
      ['BACKUP_OFFSITE_PASSWORD', 'password'],
      ['BACKUP_OFFSITE_SALT', 'salt'],
    ]) {
      expect(e[name!]).toEqual({ secretKeyRef: { name: 'bitpin-backup-offsite', key } });
    }
    expect(e['PGPASSWORD']).toBeUndefined();
    expect(cj.spec.jobTemplate.spec.template.metadata.labels).toMatchObject({ [OFFSITE_CLIENT_LABEL]: 'true' });
    expect(cj.spec.jobTemplate.spec.template.metadata.labels['bitpin.io/database-client']).toBeUndefined();
    // The scripts ConfigMap ships the off-site scripts.
    expect(Object.keys(find(objs, 'ConfigMap', 'bitpin-backup-scripts').data!)).toEqual(expect.arrayContaining(['offsite.sh', 'lib-offsite.sh', 'lib-target.sh']));
  });

  it('the NetworkPolicy lets only off-site Pods reach exactly the store (its addresses minus the cluster ranges, its port)', () => {
    const objs = synthWith('prod');
    const np = find(objs, 'NetworkPolicy', 'bitpin-backup-offsite');
    expect(np.spec.podSelector).toEqual({ matchLabels: { [OFFSITE_CLIENT_LABEL]: 'true' } });
    expect(np.spec.policyTypes).toEqual(['Egress']);
    expect(np.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '203.0.113.10/32' } }], ports: [{ protocol: 'TCP', port: 443 }] }]);
  });

  it('with external secrets on, the keys come from the store (an ExternalSecret), never generated in the cluster', () => {
    const env = envWith('prod');
    const objs = synthWith('prod');
    const es = objs.find((o) => o.kind === 'ExternalSecret' && o.metadata.name === 'bitpin-backup-offsite');
    if (env.features.externalSecrets.enabled) {
      expect(es!.spec.data.map((d: any) => d.secretKey)).toEqual([...OFFSITE_SECRET_KEYS]);
    } else {
      expect(es).toBeUndefined();
    }
    expect(objs.some((o) => o.kind === 'Secret' && o.metadata.name === 'bitpin-backup-offsite')).toBe(false);
  });

  it('fails config with one line each: no endpoint or bucket, no egress addresses, egress without the endpoint port', () => {
    const msg = (o: Record<string, unknown>) => {
      try {
        envWith('prod', o);
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(msg({ enabled: true })).toMatch(/at backup\.offsite\.endpoint: is required when backup\.offsite\.enabled is true/);
    expect(msg({ enabled: true })).toMatch(/at backup\.offsite\.bucket: is required/);
    const prod = loadEnvConfig('prod');
    if (prod.features.networkPolicies.enabled) {
      expect(msg({ ...offsite, egress: { cidrs: [], ports: [443] } })).toMatch(/at backup\.offsite\.egress\.cidrs: is empty but network policies are on/);
      expect(msg({ ...offsite, endpoint: 'https://s3.example.com:9000' })).toMatch(/at backup\.offsite\.egress\.ports: \(443\) must include the endpoint's port 9000/);
    }
    expect(msg({ ...offsite, endpoint: 'ftp://x' })).toMatch(/at backup\.offsite\.endpoint: must be an http\(s\) URL/);
  });

  it('restore Jobs: source offsite mounts no backup volume, talks to the store and must load; auto keeps the volume and can fall back', () => {
    const chart = new PlatformChart(Testing.app(), 'r', { env: envWith('prod') });
    const b = new Backups(chart, 'Backups');
    b.addRestoreJob('Off', { name: 'restore-offsite', source: 'offsite', load: true, targetTime: '2026-01-31T14:05:00Z' });
    b.addRestoreJob('Auto', { name: 'restore-auto' });
    const objs = Testing.synth(chart) as Obj[];
    const off = find(objs, 'Job', 'restore-offsite').spec.template;
    expect(off.spec.volumes.find((v: any) => v.name === 'backup')).toEqual({ name: 'backup', emptyDir: {} });
    expect(off.metadata.labels).toMatchObject({ [OFFSITE_CLIENT_LABEL]: 'true', 'bitpin.io/database-client': 'true' });
    expect(envOf(off.spec)).toMatchObject({ RESTORE_SOURCE: 'offsite', BACKUP_OFFSITE_BUCKET: 'bitpin-backups' });
    const auto = find(objs, 'Job', 'restore-auto').spec.template;
    expect(auto.spec.volumes.find((v: any) => v.name === 'backup').persistentVolumeClaim).toEqual({ claimName: 'bitpin-backup' });
    expect(envOf(auto.spec)['RESTORE_SOURCE']).toBe('auto');
    expect(() => b.addRestoreJob('Bad', { name: 'restore-bad', source: 'offsite' })).toThrow(/'source' "offsite" mounts no backup volume to keep the export on; set 'load'/);
    expect(() => restoreJob({ source: 'offsite', load: true }, 'dev')).toThrow(/needs the off-site copy, which env dev does not have/);
  });
});
