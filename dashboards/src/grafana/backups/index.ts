import { SEED, type EnvConfig } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { anyOf, CADVISOR, JOBS, not, pgSizeBytes, sel, type Matcher } from '../../promql.js';
import { durationSeconds } from '../../prometheus/builder.js';
import { BACKUP_CRONJOBS, BACKUP_OBJECTIVES, BACKUP_SLOT_RETENTION_WARN_RATIO } from '../../prometheus/backups.js';
import {
  addRow,
  platformDashboard,
  prometheusDatasourceVariable,
  promInstant,
  promQuery,
  queryVariable,
  statPanel,
  thresholds,
  timeseriesPanel,
  upperThresholds,
  varMatch,
} from '../common.js';

const ns = varMatch('namespace');
const ksm = (metric: string, extra: Record<string, Matcher> = {}) => sel(metric, { job: JOBS.kubeStateMetrics, namespace: ns, ...extra });
const cronjobs = anyOf(BACKUP_CRONJOBS);
/** Joins a kube_job_* series to the CronJob that created the Job (label `owner_name`). */
const byCronJob = (jobSeries: string) =>
  `${jobSeries} * on (namespace, job_name) group_left (owner_name) ${ksm('kube_job_owner', { owner_kind: 'CronJob', owner_name: cronjobs })}`;
/** Pods of backup Jobs: `<cronjob>-<schedule>-<suffix>`. */
const BACKUP_POD_PATTERN = `(${BACKUP_CRONJOBS.join('|')})-.+`;

function freshnessPanels() {
  const entries = Object.values(BACKUP_OBJECTIVES);
  return [
    ...entries.map(({ cronJob, maxAge }) => {
      const objective = durationSeconds(maxAge) as number;
      return statPanel(
        {
          title: `Since last success: ${cronJob}`,
          description: `Time since CronJob ${cronJob} last completed successfully (objective ${maxAge}; kube-state-metrics).`,
          unit: units.DurationSeconds,
          thresholds: upperThresholds(objective * 0.8, objective),
        },
        promInstant(`time() - max(${ksm('kube_cronjob_status_last_successful_time', { cronjob: cronJob })})`),
      );
    }),
    timeseriesPanel(
      {
        title: 'Age of last success vs objective',
        description: `Time since the last success divided by each CronJob's objective (${entries.map((e) => `${e.cronJob} ${e.maxAge}`).join(', ')}); above 100% the *TooOld alert fires.`,
        unit: units.PercentUnit,
        min: 0,
        thresholds: upperThresholds(0.8, 1),
      },
      ...entries.map(({ cronJob, maxAge }) =>
        promQuery(
          `(time() - max by (cronjob) (${ksm('kube_cronjob_status_last_successful_time', { cronjob: cronJob })})) / ${durationSeconds(maxAge)}`,
          '{{cronjob}}',
        ),
      ),
    ),
  ];
}

function runPanels() {
  return [
    timeseriesPanel(
      { title: 'Run durations', description: 'Duration of each completed backup Job, by CronJob.', unit: units.Seconds },
      promQuery(
        `max by (owner_name, job_name) (${byCronJob(`(${ksm('kube_job_status_completion_time')} - on (namespace, job_name) ${ksm('kube_job_status_start_time')})`)})`,
        '{{owner_name}} {{job_name}}',
      ),
    ),
    timeseriesPanel(
      { title: 'Failed runs kept', description: 'Failed Jobs still in the CronJob history, by CronJob (alert BackupJobFailed: failed after the last success).', unit: units.Short, min: 0, thresholds: upperThresholds(1, 1) },
      promQuery(`sum by (owner_name) (${byCronJob(ksm('kube_job_failed', { condition: 'true' }))})`, '{{owner_name}}'),
    ),
    timeseriesPanel(
      { title: 'Running now', description: 'Active Jobs per CronJob (more than 1 means runs overlap).', unit: units.Short, min: 0 },
      promQuery(`max by (cronjob) (${ksm('kube_cronjob_status_active', { cronjob: cronjobs })})`, '{{cronjob}}'),
    ),
    statPanel(
      {
        title: 'Suspended',
        description: 'A suspended CronJob takes no backups.',
        unit: units.NoUnit,
        showName: true,
        thresholds: upperThresholds(1, 1),
        mappings: [
          { value: 0, text: 'active', color: 'green' },
          { value: 1, text: 'SUSPENDED', color: 'red' },
        ],
      },
      promInstant(`max by (cronjob) (${ksm('kube_cronjob_spec_suspend', { cronjob: cronjobs })})`, '{{cronjob}}'),
    ),
    statPanel(
      { title: 'Next run in', description: 'Time until each CronJob is next scheduled.', unit: units.DurationSeconds, showName: true },
      promInstant(`max by (cronjob) (${ksm('kube_cronjob_next_schedule_time', { cronjob: cronjobs })}) - time()`, '{{cronjob}}'),
    ),
  ];
}

function storagePanels(env: EnvConfig) {
  const pvc = { job: JOBS.kubelet, namespace: ns, persistentvolumeclaim: SEED.backup.claimName };
  const keep = pgSizeBytes(env.database.maxSlotWalKeepSize);
  return [
    timeseriesPanel(
      {
        title: 'Backup volume used',
        description: `Used share of PVC ${SEED.backup.claimName} (alert above ${env.backup.volumeWarnRatio * 100}% in env ${env.name}).`,
        unit: units.PercentUnit,
        min: 0,
        max: 1,
        thresholds: upperThresholds(env.backup.volumeWarnRatio, 0.95),
      },
      promQuery(
        `max(${sel('kubelet_volume_stats_used_bytes', pvc)})\n/\nmax(${sel('kubelet_volume_stats_capacity_bytes', pvc)})`,
        SEED.backup.claimName,
      ),
    ),
    timeseriesPanel(
      { title: 'Backup volume bytes', description: `Used and total bytes of PVC ${SEED.backup.claimName} (env ${env.name}: ${env.backup.storageSize}).`, unit: units.BytesIEC, min: 0 },
      promQuery(`max(${sel('kubelet_volume_stats_used_bytes', pvc)})`, 'used'),
      promQuery(`max(${sel('kubelet_volume_stats_capacity_bytes', pvc)})`, 'capacity'),
    ),
    timeseriesPanel(
      {
        title: `WAL held by slot ${SEED.backup.walSlot}`,
        description: `WAL the incremental backup has not streamed yet. At max_slot_wal_keep_size (${env.database.maxSlotWalKeepSize}) the slot is invalidated and the archive gets a gap (alert at ${BACKUP_SLOT_RETENTION_WARN_RATIO * 100}%).`,
        unit: units.BytesIEC,
        min: 0,
        thresholds: thresholds([null, 'green'], [keep * BACKUP_SLOT_RETENTION_WARN_RATIO, 'orange'], [keep, 'red']),
      },
      promQuery(`max(${sel('cnpg_pg_replication_slots_pg_wal_lsn_diff', { job: JOBS.database, namespace: ns, slot_name: SEED.backup.walSlot })})`, SEED.backup.walSlot),
    ),
  ];
}

function walReceiverPanels() {
  const job = { job: JOBS.walReceiver, namespace: ns };
  return [
    statPanel(
      {
        title: 'WAL receiver streaming',
        description: `Whether ${SEED.backup.walReceiver.name} streams WAL from the primary (its own report) and is scraped (alert BackupWALReceiverDown after 5 minutes).`,
        unit: units.NoUnit,
        thresholds: thresholds([null, 'red'], [1, 'green']),
        mappings: [
          { value: 0, text: 'DOWN', color: 'red' },
          { value: 1, text: 'streaming', color: 'green' },
        ],
      },
      promInstant(`min(${sel('bitpin_wal_receiver_up', job)}) * min(${sel('up', job)})`),
    ),
    timeseriesPanel(
      { title: 'WAL receiver lag', description: 'Seconds since the archive last had every WAL byte the primary had flushed (alert BackupWALReceiverLagging).', unit: units.Seconds, min: 0 },
      promQuery(`max(${sel('bitpin_wal_receiver_lag_seconds', job)})`, 'seconds behind'),
    ),
    timeseriesPanel(
      { title: 'WAL receiver lag (bytes)', description: 'WAL the primary has flushed that the receiver has not confirmed as on the backup volume.', unit: units.BytesIEC, min: 0 },
      promQuery(`max(${sel('bitpin_wal_receiver_lag_bytes', job)})`, 'bytes behind'),
    ),
    timeseriesPanel(
      { title: 'WAL receiver restarts', description: 'Times pg_receivewal ended and its supervising loop restarted it (primary restarts, failovers, network).', unit: units.Short, min: 0 },
      promQuery(`max(increase(${sel('bitpin_wal_receiver_restarts_total', job)}[$__rate_interval]))`, 'restarts'),
    ),
  ];
}

function resourcePanels() {
  const c = { ...CADVISOR, namespace: ns, pod: varMatch('pod'), container: not('') };
  return [
    timeseriesPanel(
      { title: 'Backup pods: CPU', description: 'CPU of backup Job pods (cAdvisor), in cores.', unit: units.Short, min: 0 },
      promQuery(`sum by (pod) (rate(${sel('container_cpu_usage_seconds_total', c)}[$__rate_interval]))`, '{{pod}}'),
    ),
    timeseriesPanel(
      { title: 'Backup pods: memory', description: 'Working-set memory of backup Job pods (cAdvisor).', unit: units.BytesIEC, min: 0 },
      promQuery(`sum by (pod) (${sel('container_memory_working_set_bytes', c)})`, '{{pod}}'),
    ),
  ];
}

/** Backups of libs/backup: CronJob freshness against objectives, runs, failures, volume, WAL slot. */
export function backupsDashboard(env: EnvConfig) {
  const b = platformDashboard({
    key: 'backups',
    description: `Backup CronJobs (${BACKUP_CRONJOBS.join(', ')}) from kube-state-metrics, the backup volume and the WAL slot. Env ${env.name}: full ${env.backup.full.schedule}, incremental ${env.backup.incremental.schedule}, retention ${env.backup.retentionDays} days.`,
    tags: ['backup', 'database'],
    from: 'now-7d',
    variables: [
      prometheusDatasourceVariable(),
      queryVariable('namespace', 'Namespace', `label_values(kube_cronjob_info{job="${JOBS.kubeStateMetrics}", cronjob=~"${cronjobs.re}"}, namespace)`),
      queryVariable('pod', 'Backup pod', `label_values(kube_pod_info{job="${JOBS.kubeStateMetrics}", namespace=~"$namespace", pod=~"${BACKUP_POD_PATTERN}"}, pod)`, {
        allValue: BACKUP_POD_PATTERN,
      }),
    ],
  });
  addRow(b, 'Freshness', freshnessPanels(), 6, 6);
  addRow(b, 'Runs', runPanels(), 8);
  addRow(b, 'Storage', storagePanels(env), 8);
  if (env.backup.walReceiver.enabled) addRow(b, 'WAL receiver', walReceiverPanels(), 6);
  addRow(b, 'Backup pods', resourcePanels(), 12);
  return b;
}
