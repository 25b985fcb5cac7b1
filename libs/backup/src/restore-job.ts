import { cnpgNames, SEED } from '@bitpin/config';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import type { Backups } from './backups.js';
import { connectionEnv, defaultConnection, labelsFor, MOUNTS, podTemplate } from './pod.js';

export type RestoreMode = 'pitr' | 'logical';
export type RestoreSource = 'auto' | 'local' | 'offsite';

export interface RestoreJobProps {
  /**
   * The Job's name.
   * @default 'bitpin-restore'
   */
  readonly name?: string;
  /**
   * `pitr`: the base backup plus WAL replayed to the target, in scratch space, checked, exported
   * as a dump to `/backup/restores/<name>/<db>.dump` (and loaded when `load` is set).
   * `logical`: a full backup's `pg_dump` loaded into the cluster, row counts checked.
   * @default 'pitr'
   */
  readonly mode?: RestoreMode;
  /**
   * Replay up to this time (ISO 8601 with a zone, e.g. `2026-01-31T14:05:00Z`). PITR only.
   * @default - the end of the WAL archive (or `targetLsn`)
   */
  readonly targetTime?: string;
  /**
   * Replay up to this LSN instead. PITR only.
   * @default - none
   */
  readonly targetLsn?: string;
  /**
   * The full backup to start from (its directory name, e.g. `20260131T020000Z`).
   * @default - the newest good backup that ended before the target
   */
  readonly backupId?: string;
  /**
   * Load the result into the cluster's database (`pg_restore --clean --if-exists`, one
   * transaction), as the owner whose credentials `loadCredentialsSecret` holds. This replaces the
   * database's current contents.
   * @default - false for `pitr` (export only), true for `logical`
   */
  readonly load?: boolean;
  /**
   * Database to load into.
   * @default - the env's application database
   */
  readonly targetDatabase?: string;
  /**
   * basic-auth Secret of the role that loads (it must own the objects the dump replaces).
   * @default - CloudNativePG's application Secret `bitpin-cluster-app`
   */
  readonly loadCredentialsSecret?: string;
  /**
   * Where the backups come from. `local`: the backup volume. `offsite`: the encrypted off-site
   * copy alone (`env.backup.offsite`): the backup volume is not mounted (it may be gone with the
   * cluster), the backup the target needs and its WAL up to the target are downloaded into scratch
   * space and checked before replay; the result must be loaded (`load`), as there is no volume to
   * keep an export on. `auto`: the volume, or the off-site copy when the volume holds no good
   * full backup (needs the claim to exist).
   * @default - `auto` when the env has an off-site copy, else `local`
   */
  readonly source?: RestoreSource;
  /**
   * Seconds the Job may run.
   * @default 21600 (6 hours)
   */
  readonly activeDeadlineSeconds?: number;
}

/**
 * An on-demand restore Job (generate it, apply it, read its log). It never runs on a schedule:
 * create one with {@link Backups.addRestoreJob} or `npx nx run backup:restore-job -- …`
 * (docs/runbooks/restore.md).
 */
export class RestoreJob extends Construct {
  readonly name: string;
  readonly mode: RestoreMode;
  readonly load: boolean;
  readonly source: RestoreSource;
  /** Where a PITR restore writes its export on the backup volume. */
  readonly exportPath: string;
  readonly job: k8s.KubeJob;

  constructor(scope: Backups, id: string, props: RestoreJobProps = {}) {
    super(scope, id);
    validate(props);
    const ctx = scope._pod;
    this.name = props.name ?? 'bitpin-restore';
    this.mode = props.mode ?? 'pitr';
    this.load = props.load ?? this.mode === 'logical';
    this.source = props.source ?? (ctx.env.backup.offsite.enabled ? 'auto' : 'local');
    if (this.source !== 'local' && !ctx.env.backup.offsite.enabled) {
      throw new Error(`RestoreJob: 'source' ("${this.source}") needs the off-site copy, which env ${ctx.env.name} does not have (backup.offsite.enabled is false)`);
    }
    if (this.source === 'offsite' && !this.load) {
      throw new Error(`RestoreJob: 'source' "offsite" mounts no backup volume to keep the export on; set 'load' (restore into the cluster's database)`);
    }
    const db = props.targetDatabase ?? ctx.env.database.database;
    this.exportPath = `${MOUNTS.backup}/restores/${this.name}/${ctx.env.database.database}.dump`;

    const env: k8s.EnvVar[] = [{ name: 'PGDATABASE', value: db }, { name: 'RESTORE_SOURCE', value: this.source }];
    if (props.targetTime) env.push({ name: 'RESTORE_TARGET_TIME', value: props.targetTime });
    if (props.targetLsn) env.push({ name: 'RESTORE_TARGET_LSN', value: props.targetLsn });
    if (props.backupId) env.push({ name: 'RESTORE_BACKUP_ID', value: props.backupId });
    const s = MOUNTS.scripts;
    const steps: string[] = [];
    if (this.mode === 'pitr') {
      steps.push(`RESTORE_MODE=pitr RESTORE_PGDATA=${MOUNTS.scratch}/pgdata RESTORE_EXPORT_DUMP=${this.exportPath} bash ${s}/restore.sh`);
      if (this.load) {
        steps.push(`env -u RESTORE_TARGET_TIME -u RESTORE_TARGET_LSN RESTORE_MODE=logical RESTORE_DUMP=${this.exportPath} RESTORE_DBNAME=${db} bash ${s}/restore.sh`);
      }
    } else {
      steps.push(`RESTORE_MODE=logical RESTORE_DBNAME=${db} bash ${s}/restore.sh`);
    }
    const conn = { ...defaultConnection(ctx.env), credentialsSecret: props.loadCredentialsSecret ?? cnpgNames(SEED.database.clusterName).appSecret };
    if (this.load) env.push(...connectionEnv(conn).filter((e) => e.name !== 'PGDATABASE'));

    const labels = labelsFor(ctx, this.name);
    this.job = new k8s.KubeJob(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: ctx.namespace,
        labels,
        annotations: {
          'bitpin.io/restore-mode': this.mode,
          'bitpin.io/restore-target': props.targetTime ?? props.targetLsn ?? 'latest',
          'bitpin.io/restore-load': String(this.load),
          'bitpin.io/restore-source': this.source,
        },
      },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: props.activeDeadlineSeconds ?? 21_600,
        template: podTemplate(ctx, {
          instance: this.name,
          script: 'restore.sh',
          command: ['bash', '-c', ['set -euo pipefail', ...steps].join('\n')],
          env,
          ...(this.load ? { caSecret: conn.caSecret } : {}),
          ...(this.source !== 'local' ? { offsite: true } : {}),
          ...(this.source === 'offsite' ? { backupClaim: false } : {}),
        }),
      },
    });
  }
}

function validate(p: RestoreJobProps): void {
  const fail = (msg: string) => {
    throw new Error(`RestoreJob: ${msg}`);
  };
  if (p.name !== undefined && !/^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/.test(p.name)) {
    fail(`'name' ("${p.name}") must be a DNS label of at most 52 characters (the Job adds a suffix to its Pods)`);
  }
  if (p.source !== undefined && !['auto', 'local', 'offsite'].includes(p.source)) fail(`'source' ("${String(p.source)}") must be auto, local or offsite`);
  if (p.mode !== undefined && p.mode !== 'pitr' && p.mode !== 'logical') fail(`'mode' ("${String(p.mode)}") must be pitr or logical`);
  if (p.targetTime !== undefined) {
    if (!/(Z|[+-]\d\d:?\d\d)$/.test(p.targetTime) || Number.isNaN(Date.parse(p.targetTime))) {
      fail(`'targetTime' ("${p.targetTime}") must be an ISO 8601 time with a zone, e.g. 2026-01-31T14:05:00Z`);
    }
  }
  if (p.targetLsn !== undefined && !/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(p.targetLsn)) {
    fail(`'targetLsn' ("${p.targetLsn}") must be an LSN such as 0/3000060`);
  }
  if (p.targetTime !== undefined && p.targetLsn !== undefined) fail(`set 'targetTime' or 'targetLsn', not both`);
  if (p.mode === 'logical' && (p.targetTime !== undefined || p.targetLsn !== undefined)) {
    fail(`a logical restore loads a full backup's dump as it was taken; 'targetTime'/'targetLsn' need mode 'pitr'`);
  }
  if (p.mode === 'logical' && p.load === false) fail(`mode 'logical' with 'load' false would do nothing; use mode 'pitr' to restore without loading`);
  if (p.backupId !== undefined && !/^\d{8}T\d{6}Z(-\d+)?$/.test(p.backupId)) {
    fail(`'backupId' ("${p.backupId}") must name a full backup directory such as 20260131T020000Z`);
  }
  if (p.targetDatabase !== undefined && !/^[a-z0-9_][a-z0-9_-]{0,62}$/.test(p.targetDatabase)) {
    fail(`'targetDatabase' ("${p.targetDatabase}") must be a database name (lower-case letters, digits, _ and -)`);
  }
}
