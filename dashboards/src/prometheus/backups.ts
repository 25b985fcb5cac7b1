import { SEED, type EnvConfig } from '@bitpin/config';
import { JOBS, anyOf, pgSizeBytes, sel } from '../promql.js';
import { alert, durationSeconds, ruleFile, ruleGroup, type PromDuration, type PrometheusRuleFile } from './builder.js';

const ksm = JOBS.kubeStateMetrics;
const B = SEED.backup;

/**
 * How old the newest successful run of each backup CronJob may be. The full backup runs daily
 * (02:00 UTC): 26h allows one late run. The incremental (WAL) backup runs every 15 minutes: 30
 * minutes means one run was missed, which is the recovery-point objective. The restore
 * verification runs weekly: 8 days allow one late run. The off-site upload (libs/backup offsite.sh,
 * only where `backup.offsite.enabled`) runs every 15 minutes and succeeds only when everything the
 * volume published is off-site: 1h since its last success means the off-site copy is that far
 * behind (three runs could not catch up).
 */
export const BACKUP_OBJECTIVES = {
  full: { cronJob: B.fullCronJob, maxAge: '26h' },
  incremental: { cronJob: B.incrementalCronJob, maxAge: '30m' },
  verify: { cronJob: B.verifyCronJob, maxAge: '8d' },
  offsite: { cronJob: B.offsiteCronJob, maxAge: '1h' },
} as const satisfies Record<string, { cronJob: string; maxAge: PromDuration }>;

export const BACKUP_CRONJOBS: readonly string[] = Object.values(BACKUP_OBJECTIVES).map((o) => o.cronJob);

/** Share of `max_slot_wal_keep_size` the backup slot may retain before the alert fires. */
export const BACKUP_SLOT_RETENTION_WARN_RATIO = 0.5;

/**
 * Seconds since the CronJob's last successful run; when it never succeeded, seconds since it was
 * created (so a CronJob that never worked is caught too).
 */
export function secondsSinceLastSuccessExpr(cronJob: string): string {
  const m = { job: ksm, cronjob: cronJob };
  return `(
  time() - max by (namespace, cronjob) (${sel('kube_cronjob_status_last_successful_time', m)})
  or
  (
    time() - max by (namespace, cronjob) (${sel('kube_cronjob_created', m)})
    unless on (namespace, cronjob) ${sel('kube_cronjob_status_last_successful_time', m)}
  )
)`;
}

/** Start time of the newest failed Job of each backup CronJob (label `cronjob`). */
function lastFailedStartExpr(): string {
  return `max by (namespace, cronjob) (
  label_replace(
    ${sel('kube_job_status_start_time', { job: ksm })}
      * on (namespace, job_name) group_left (owner_name)
        ${sel('kube_job_owner', { job: ksm, owner_kind: 'CronJob', owner_name: anyOf(BACKUP_CRONJOBS) })}
      and on (namespace, job_name)
        (${sel('kube_job_failed', { job: ksm, condition: 'true' })} > 0),
    "cronjob", "$1", "owner_name", "(.+)"
  )
)`;
}

/**
 * Backups (libs/backup): the CronJobs' last success from kube-state-metrics, failed runs, the
 * backup volume and the WAL slot the incremental backup streams from.
 */
export function backupRules(env: EnvConfig): PrometheusRuleFile {
  const staleness = (
    key: keyof typeof BACKUP_OBJECTIVES,
    o: { name: string; for: PromDuration; severity: 'critical' | 'warning'; what: string; impact: string; quietWhileRunning?: boolean },
  ) => {
    const { cronJob, maxAge } = BACKUP_OBJECTIVES[key];
    // A run in progress is not a missed run: a slow-but-working daily backup must not page. The
    // Job's activeDeadlineSeconds bounds the wait; a run that fails raises BackupJobFailed.
    const running = o.quietWhileRunning
      ? `
unless on (namespace, cronjob)
max by (namespace, cronjob) (${sel('kube_cronjob_status_active', { job: ksm, cronjob: cronJob })}) > 0`
      : '';
    return alert({
      name: o.name,
      expr: `${secondsSinceLastSuccessExpr(cronJob)} > ${durationSeconds(maxAge)}${running}`,
      for: o.for,
      severity: o.severity,
      summary: `No successful ${o.what} for {{ $value | humanizeDuration }} in {{ $labels.namespace }}`,
      description: `CronJob ${cronJob} has not completed successfully for more than ${maxAge} (objective)${o.quietWhileRunning ? ' and no run of it is in progress' : ''}. ${o.impact}`,
    });
  };
  const lastSuccess = sel('kube_cronjob_status_last_successful_time', { job: ksm });
  const slot = sel('cnpg_pg_replication_slots_pg_wal_lsn_diff', { job: JOBS.database, slot_name: B.walSlot });
  const keep = env.database.maxSlotWalKeepSize;
  const slotLimit = BACKUP_SLOT_RETENTION_WARN_RATIO * pgSizeBytes(keep);
  const pvc = { job: JOBS.kubelet, persistentvolumeclaim: B.claimName };

  const alerts = [
    staleness('full', {
      name: 'BackupFullTooOld',
      for: '10m',
      severity: 'critical',
      what: 'full backup',
      quietWhileRunning: true,
      impact: 'A restore would have to replay more WAL than planned, and a gap in the WAL archive would lose data back to the previous full backup.',
    }),
    staleness('incremental', {
      name: 'BackupIncrementalTooOld',
      for: '2m',
      severity: 'critical',
      what: 'incremental (WAL) backup',
      impact: 'The recovery point objective is missed: a disaster now loses every transaction since the last archived WAL segment.',
    }),
    staleness('verify', {
      name: 'BackupVerifyTooOld',
      for: '1h',
      severity: 'warning',
      what: 'restore verification',
      quietWhileRunning: true,
      impact: 'Nobody has proven for over a week that the newest backup restores.',
    }),
    staleness('offsite', {
      name: 'BackupOffsiteBehind',
      for: '5m',
      severity: 'warning',
      what: 'off-site copy upload',
      quietWhileRunning: true,
      impact:
        'The encrypted off-site copy lacks the backups and WAL published since: losing the cluster and its backup volume together now loses that much. Runs retry and catch up by themselves once the object store is reachable.',
    }),
    alert({
      name: 'BackupJobFailed',
      expr: `(
  ${lastFailedStartExpr().replace(/\n/g, '\n  ')}
  > on (namespace, cronjob)
  max by (namespace, cronjob) (${lastSuccess})
)
or
(
  ${lastFailedStartExpr().replace(/\n/g, '\n  ')}
  unless on (namespace, cronjob)
  ${lastSuccess}
)`,
      severity: 'warning',
      summary: 'The last run of CronJob {{ $labels.cronjob }} failed',
      description:
        'A Job of {{ $labels.namespace }}/{{ $labels.cronjob }} failed and no run has succeeded since. The alert resolves with the next successful run.',
    }),
    alert({
      name: 'BackupVolumeFillingUp',
      expr: `max by (namespace, persistentvolumeclaim) (${sel('kubelet_volume_stats_used_bytes', pvc)})
/
max by (namespace, persistentvolumeclaim) (${sel('kubelet_volume_stats_capacity_bytes', pvc)})
> ${env.backup.volumeWarnRatio}`,
      for: '15m',
      severity: 'warning',
      summary: 'Backup volume {{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full',
      description: `The backup volume in {{ $labels.namespace }} has been above ${Math.round(env.backup.volumeWarnRatio * 100)}% (env ${env.name}: backup.volumeWarnRatio) for 15 minutes. Backups fail when it is full; grow it (backup.storageSize) or shorten retention (backup.retentionDays = ${env.backup.retentionDays}).`,
    }),
    alert({
      name: 'BackupWALSlotRetentionHigh',
      expr: `max by (namespace, slot_name) (${slot}) > ${slotLimit}`,
      for: '15m',
      severity: 'warning',
      summary: 'Backup slot {{ $labels.slot_name }} retains {{ $value | humanize1024 }}B of WAL',
      description: `The WAL slot the incremental backup streams from holds more than ${Math.round(BACKUP_SLOT_RETENTION_WARN_RATIO * 100)}% of max_slot_wal_keep_size (${keep}, env ${env.name}) for 15 minutes. At 100% PostgreSQL invalidates the slot and the WAL archive gets a gap: point-in-time recovery past it becomes impossible.`,
    }),
    ...walReceiverAlerts(env),
  ];
  return ruleFile('backup.rules.yaml', [ruleGroup('backup', alerts)]);
}

/** What a stopped WAL receiver means for writes, per `backup.walReceiver.synchronous`. */
export const RECEIVER_DOWN_IMPACT: Record<EnvConfig['backup']['walReceiver']['synchronous'], string> = {
  off: 'Until it streams again the archive grows only every 15 minutes (bitpin-incremental-backup falls back to streaming by itself): a disaster now loses up to 15 minutes of transactions instead of seconds.',
  fallback:
    'Synchronous mode (fallback): commits are acknowledged once the standby has them instead, so writes go on, but the archive grows only every 15 minutes (the incremental run falls back to streaming by itself): losing the cluster now loses up to 15 minutes of transactions.',
  strict: 'Synchronous mode (strict): every commit waits for the receiver, so writes to the database hang until it streams again.',
};

/**
 * The WAL receiver (libs/backup wal-receiver.sh, `backup.walReceiver.enabled`): not streaming
 * (its own report, or its metrics not scraped), or further behind the primary than
 * `backup.walReceiver.lagAlertSeconds`.
 */
function walReceiverAlerts(env: EnvConfig) {
  const r = env.backup.walReceiver;
  if (!r.enabled) return [];
  const job = { job: JOBS.walReceiver };
  return [
    alert({
      name: 'BackupWALReceiverDown',
      expr: `max by (namespace) (${sel('bitpin_wal_receiver_up', job)}) < 1
or
max by (namespace) (${sel('up', job)}) < 1`,
      for: '5m',
      severity: 'critical',
      summary: 'The WAL receiver is not streaming in {{ $labels.namespace }}',
      description: `Deployment ${SEED.backup.walReceiver.name} has not streamed WAL from the primary (or could not be scraped) for 5 minutes. ${RECEIVER_DOWN_IMPACT[r.synchronous]}`,
    }),
    alert({
      name: 'BackupWALReceiverLagging',
      expr: `max by (namespace) (${sel('bitpin_wal_receiver_lag_seconds', job)}) > ${r.lagAlertSeconds}`,
      for: '5m',
      severity: 'warning',
      summary: 'The WAL receiver is {{ $value | humanizeDuration }} behind the primary in {{ $labels.namespace }}',
      description: `The WAL archive has lacked WAL the primary flushed for more than ${r.lagAlertSeconds} s (env ${env.name}: backup.walReceiver.lagAlertSeconds) for 5 minutes: a disaster now loses that much. Usually the backup volume or the network to it is too slow for the write rate.`,
    }),
  ];
}
