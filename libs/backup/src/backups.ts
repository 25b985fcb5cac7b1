import { cronProblem, parseImageRef, parseQuantity, SEED } from '@bitpin/config';
import { PlatformExternalSecret, type PlatformChart } from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { backupDatabaseAccess, type BackupDatabaseAccess } from './access.js';
import { APP_NAME, connectionEnv, defaultConnection, labelsFor, podTemplate, POSTGRES_UID, type PodContext } from './pod.js';
import { OffsiteAccess } from './offsite.js';
import { RestoreJob, type RestoreJobProps } from './restore-job.js';
import { readScripts } from './scripts.js';

export type SwitchWal = 'auto' | 'required' | 'off';

/** The off-site upload CronJob's name. */
export const OFFSITE_CRONJOB: string = SEED.backup.offsiteCronJob;

export interface BackupsProps {
  /**
   * Namespace of every object; the CloudNativePG Cluster and its Secrets live there too.
   * @default SEED.namespaces.app (`bitpin-task`)
   */
  readonly namespace?: string;
  /**
   * Schedule of the weekly restore verification (the env's `backup.timeZone` applies).
   * @default '30 4 * * 0' — Sundays 04:30, well after the 02:00 full backup
   */
  readonly verifySchedule?: string;
  /**
   * Secret (basic-auth `username`, `password`) of the backup role; created outside the repo.
   * @default SEED.backup.credentialsSecret (`bitpin-backup-credentials`)
   */
  readonly credentialsSecret?: string;
  /**
   * Whether each incremental run switches the WAL segment first (`pg_switch_wal()`):
   * `auto` switches when the role may and otherwise archives the open segment as `.partial`;
   * `required` fails the run without the privilege; `off` never switches.
   * @default 'auto'
   */
  readonly switchWal?: SwitchWal;
  /**
   * Compression of base backups and archived WAL (`method[:level]` of pg_basebackup/pg_receivewal).
   * @default 'gzip:1' — gzip needs nothing beyond the image to restore
   */
  readonly compression?: string;
  /**
   * Scratch space (an emptyDir) where the full backup is extracted for pg_verifybackup and the
   * verification restores into.
   * @default - the database volume size (plus the WAL volume's, when the env has one)
   */
  readonly scratchSizeLimit?: string;
  /**
   * Seconds a full backup Job may run, retries included.
   * @default 21600 (6 hours)
   */
  readonly fullActiveDeadlineSeconds?: number;
  /**
   * Seconds an incremental Job may run; must stay below the schedule's interval.
   * @default 780 (13 minutes of the 15)
   */
  readonly incrementalActiveDeadlineSeconds?: number;
  /**
   * Seconds the restore verification may run.
   * @default 14400 (4 hours)
   */
  readonly verifyActiveDeadlineSeconds?: number;
  /**
   * Seconds an off-site upload Job may run (a first upload carries every full backup the volume holds).
   * @default 10800 (3 hours)
   */
  readonly offsiteActiveDeadlineSeconds?: number;
  /**
   * UID (and GID) the Pods run as.
   * @default 26 — `postgres` in the CloudNativePG images
   */
  readonly runAsUser?: number;
  /**
   * Directory of the PostgreSQL client tools in the image.
   * @default - `/usr/lib/postgresql/<major>/bin`, the major taken from the backup image's tag
   */
  readonly pgBinDir?: string;
}

const COUNT_RULES: readonly { prop: keyof BackupsProps; min: number; max: number }[] = [
  { prop: 'fullActiveDeadlineSeconds', min: 600, max: 86_400 },
  { prop: 'incrementalActiveDeadlineSeconds', min: 120, max: 3_600 },
  { prop: 'verifyActiveDeadlineSeconds', min: 600, max: 86_400 },
  { prop: 'offsiteActiveDeadlineSeconds', min: 600, max: 86_400 },
  { prop: 'runAsUser', min: 1, max: 2_147_483_647 },
];

/**
 * The backup system of the platform, on a PersistentVolumeClaim in the database's namespace:
 * - CronJob `bitpin-full-backup` (daily 02:00 UTC): pg_basebackup verified with pg_verifybackup,
 *   pg_dump -Fc with snapshot row counts, SHA-256 checksums, retention;
 * - CronJob `bitpin-incremental-backup` (every 15 minutes): WAL archived with pg_receivewal from a
 *   dedicated physical slot up to the current LSN;
 * - CronJob `bitpin-backup-verify` (weekly): restores the newest backup into scratch space and
 *   checks the sentinel table's checksum and every table's row count;
 * - the scripts ConfigMap, a ServiceAccount without a token, the backup PVC;
 * - {@link Backups.addRestoreJob} for an on-demand restore Job.
 *
 * The database must grant the role what {@link Backups.databaseAccess} lists (pass `roles` and
 * `pgHba` to the database chart, run `setupSql` once).
 */
export class Backups extends Construct {
  readonly namespace: string;
  readonly claimName: string = SEED.backup.claimName;
  readonly serviceAccountName = APP_NAME;
  readonly scriptsConfigMapName = `${APP_NAME}-scripts`;
  readonly credentialsSecret: string;
  readonly switchWal: SwitchWal;
  readonly compression: string;
  readonly verifySchedule: string;
  readonly scratchSizeLimit: string;
  readonly fullCronJob: k8s.KubeCronJob;
  readonly incrementalCronJob: k8s.KubeCronJob;
  readonly verifyCronJob: k8s.KubeCronJob;
  /** CronJob `bitpin-offsite-backup` (the encrypted off-site copy), when `backup.offsite.enabled`. */
  readonly offsiteCronJob?: k8s.KubeCronJob;
  /** Role, pg_hba rule and one-off grants the database must provide. */
  readonly databaseAccess: BackupDatabaseAccess;
  /** @internal */
  readonly _pod: PodContext;

  constructor(scope: PlatformChart, id: string, props: BackupsProps = {}) {
    super(scope, id);
    const env = scope.env;
    const b = env.backup;
    validate(props);
    this.namespace = props.namespace ?? SEED.namespaces.app;
    this.credentialsSecret = props.credentialsSecret ?? SEED.backup.credentialsSecret;
    this.switchWal = props.switchWal ?? 'auto';
    this.compression = props.compression ?? 'gzip:1';
    this.verifySchedule = props.verifySchedule ?? '30 4 * * 0';
    const dbBytes = (parseQuantity(env.database.storageSize) ?? 0) + (parseQuantity(env.database.walStorageSize ?? '0') ?? 0);
    this.scratchSizeLimit = props.scratchSizeLimit ?? `${Math.ceil(dbBytes / 2 ** 30)}Gi`;
    this.databaseAccess = backupDatabaseAccess(env, { credentialsSecret: this.credentialsSecret });
    const pgBinDir = props.pgBinDir ?? defaultBinDir(env.images.backup);
    this._pod = {
      env,
      namespace: this.namespace,
      serviceAccountName: this.serviceAccountName,
      scriptsConfigMap: this.scriptsConfigMapName,
      claimName: this.claimName,
      image: env.images.backup,
      pgBinDir,
      runAsUser: props.runAsUser ?? POSTGRES_UID,
      scratchSizeLimit: this.scratchSizeLimit,
    };
    const meta = (name: string, instance = name) => ({ name, namespace: this.namespace, labels: labelsFor(this._pod, instance) });

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: meta(this.serviceAccountName, APP_NAME),
      automountServiceAccountToken: false,
    });

    if (env.features.externalSecrets.enabled) {
      // The role's password from the store; CloudNativePG requires a basic-auth Secret for it.
      new PlatformExternalSecret(this, 'Credentials', {
        name: this.credentialsSecret,
        namespace: this.namespace,
        labels: labelsFor(this._pod, APP_NAME),
        type: 'kubernetes.io/basic-auth',
        keys: ['username', 'password'],
      });
    }

    new k8s.KubePersistentVolumeClaim(this, 'Storage', {
      metadata: meta(this.claimName, APP_NAME),
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: k8s.Quantity.fromString(b.storageSize) } },
        ...(b.storageClass ? { storageClassName: b.storageClass } : {}),
      },
    });

    new k8s.KubeConfigMap(this, 'Scripts', {
      metadata: meta(this.scriptsConfigMapName, APP_NAME),
      data: readScripts(),
    });

    const conn = defaultConnection(env, this.credentialsSecret);
    const common = [
      { name: 'BACKUP_SLOT', value: SEED.backup.walSlot },
      { name: 'BACKUP_COMPRESSION', value: this.compression },
      { name: 'BACKUP_SENTINEL', value: 'required' },
    ];
    const incrementalDeadline = props.incrementalActiveDeadlineSeconds ?? 780;

    this.fullCronJob = this.cronJob('FullBackup', {
      name: SEED.backup.fullCronJob,
      schedule: b.full.schedule,
      script: 'full-backup.sh',
      activeDeadlineSeconds: props.fullActiveDeadlineSeconds ?? 21_600,
      startingDeadlineSeconds: 3_600,
      backoffLimit: 1,
      caSecret: conn.caSecret,
      env: [
        ...connectionEnv(conn),
        ...common,
        { name: 'BACKUP_KEEP_FULL', value: String(b.full.keep) },
        { name: 'BACKUP_RETENTION_DAYS', value: String(b.retentionDays) },
        // An incremental run holding the lock at 02:00 is short; wait for it.
        { name: 'BACKUP_LOCK_TIMEOUT', value: '900' },
      ],
    });

    this.incrementalCronJob = this.cronJob('IncrementalBackup', {
      name: SEED.backup.incrementalCronJob,
      schedule: b.incremental.schedule,
      script: 'incremental-backup.sh',
      activeDeadlineSeconds: incrementalDeadline,
      startingDeadlineSeconds: 300,
      // The next run is 15 minutes away and resumes exactly where this one stopped.
      backoffLimit: 0,
      caSecret: conn.caSecret,
      env: [
        ...connectionEnv(conn),
        ...common,
        { name: 'BACKUP_SWITCH_WAL', value: this.switchWal },
        { name: 'BACKUP_RECEIVE_TIMEOUT', value: String(Math.max(60, incrementalDeadline - 120)) },
        { name: 'BACKUP_LOCK_TIMEOUT', value: String(Math.max(30, Math.floor(incrementalDeadline / 3))) },
      ],
    });

    // Reads only the volume: no credentials, no CA, no connection to the cluster.
    this.verifyCronJob = this.cronJob('RestoreVerification', {
      name: SEED.backup.verifyCronJob,
      schedule: this.verifySchedule,
      script: 'verify-restore.sh',
      activeDeadlineSeconds: props.verifyActiveDeadlineSeconds ?? 14_400,
      startingDeadlineSeconds: 3_600,
      backoffLimit: 0,
      env: [{ name: 'BACKUP_SENTINEL', value: 'required' }, { name: 'RESTORE_SUPERUSER', value: 'postgres' }],
    });

    // The encrypted off-site copy: its own CronJob rather than a step of the full and incremental
    // Jobs, so that (1) an object store outage never fails the local backups (their alerts keep
    // meaning "the volume has no fresh backup") and the WAL archive never waits on the internet;
    // (2) only this Pod holds the store's keys and the egress to it, and it holds no database
    // credentials; (3) its last success (kube-state-metrics) is the "off-site copy behind" signal:
    // a run succeeds only when everything published is off-site, so a failed upload is retried
    // and caught up by the next run. It runs 10 minutes after each incremental run.
    const o = b.offsite;
    if (o.enabled) {
      new OffsiteAccess(this, 'Offsite', env, { namespace: this.namespace, labels: labelsFor(this._pod, OFFSITE_CRONJOB) });
      this.offsiteCronJob = this.cronJob('OffsiteBackup', {
        name: OFFSITE_CRONJOB,
        schedule: o.schedule,
        script: 'offsite.sh',
        activeDeadlineSeconds: props.offsiteActiveDeadlineSeconds ?? 10_800,
        startingDeadlineSeconds: 600,
        // The next run catches up with whatever this one could not upload.
        backoffLimit: 0,
        offsite: true,
        env: [{ name: 'BACKUP_LOCK_TIMEOUT', value: '300' }],
      });
    }
  }

  /** A restore Job in this backup system's namespace, using its volume and scripts. */
  addRestoreJob(id: string, props: RestoreJobProps = {}): RestoreJob {
    return new RestoreJob(this, id, props);
  }

  private cronJob(
    id: string,
    o: {
      name: string;
      schedule: string;
      script: string;
      activeDeadlineSeconds: number;
      startingDeadlineSeconds: number;
      backoffLimit: number;
      caSecret?: string;
      offsite?: boolean;
      env: k8s.EnvVar[];
    },
  ): k8s.KubeCronJob {
    const labels = labelsFor(this._pod, o.name);
    return new k8s.KubeCronJob(this, id, {
      metadata: { name: o.name, namespace: this.namespace, labels },
      spec: {
        schedule: o.schedule,
        timeZone: this._pod.env.backup.timeZone,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: o.startingDeadlineSeconds,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        suspend: false,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: o.backoffLimit,
            activeDeadlineSeconds: o.activeDeadlineSeconds,
            template: podTemplate(this._pod, {
              instance: o.name,
              script: o.script,
              env: o.env,
              ...(o.caSecret ? { caSecret: o.caSecret } : {}),
              ...(o.offsite ? { offsite: true } : {}),
            }),
          },
        },
      },
    });
  }
}

function validate(props: BackupsProps): void {
  for (const rule of COUNT_RULES) {
    const v = props[rule.prop];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < rule.min || v > rule.max)) {
      throw new Error(`Backups: '${rule.prop}' (${String(v)}) must be a whole number from ${rule.min} to ${rule.max}`);
    }
  }
  if (props.incrementalActiveDeadlineSeconds !== undefined && props.incrementalActiveDeadlineSeconds >= 900) {
    throw new Error(
      `Backups: 'incrementalActiveDeadlineSeconds' (${props.incrementalActiveDeadlineSeconds}) must stay below the 15-minute schedule (900 s), or runs pile up behind concurrencyPolicy Forbid`,
    );
  }
  if (props.verifySchedule !== undefined) {
    const problem = cronProblem(props.verifySchedule);
    if (problem) throw new Error(`Backups: 'verifySchedule' ("${props.verifySchedule}") is not a valid cron expression: ${problem}`);
  }
  if (props.switchWal !== undefined && !['auto', 'required', 'off'].includes(props.switchWal)) {
    throw new Error(`Backups: 'switchWal' ("${String(props.switchWal)}") must be auto, required or off`);
  }
  if (props.compression !== undefined && !/^(none|(gzip|lz4|zstd)(:\d{1,2})?)$/.test(props.compression)) {
    throw new Error(`Backups: 'compression' ("${props.compression}") must be none, gzip, lz4 or zstd, optionally with ":level"`);
  }
  if (props.scratchSizeLimit !== undefined && parseQuantity(props.scratchSizeLimit) === undefined) {
    throw new Error(`Backups: 'scratchSizeLimit' ("${props.scratchSizeLimit}") must be a quantity such as "10Gi"`);
  }
}

function defaultBinDir(image: string): string {
  const major = /^(\d+)/.exec(parseImageRef(image).tag ?? '')?.[1];
  if (!major) {
    throw new Error(`Backups: cannot tell the PostgreSQL major version from the backup image "${image}"; set 'pgBinDir'`);
  }
  return `/usr/lib/postgresql/${major}/bin`;
}
