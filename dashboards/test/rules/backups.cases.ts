import type { EnvConfig } from '@bitpin/config';
import { RECEIVER_DOWN_IMPACT } from '../../src/prometheus/backups.js';
import { pgSizeBytes } from '../../src/promql.js';
import { firing, series, silent, type PromtoolCase, type RuleIndex } from '../promtool.js';

const ns = 'bitpin-task';
const ksm = (metric: string, labels: Record<string, string>, values: string) =>
  series(metric, { job: 'kube-state-metrics', instance: '10.0.0.3:8080', namespace: ns, ...labels }, values);
const lastSuccess = (cronjob: string, values: string) => ksm('kube_cronjob_status_last_successful_time', { cronjob }, values);
const created = (cronjob: string, values: string) => ksm('kube_cronjob_created', { cronjob }, values);
/** A Job of a CronJob: owner, start time and Failed condition. */
const job = (cronjob: string, jobName: string, start: string, failed: string) => [
  // kube_job_owner is 1 whenever the Job exists, i.e. whenever it has a start time.
  ksm('kube_job_owner', { job_name: jobName, owner_kind: 'CronJob', owner_name: cronjob, owner_is_controller: 'true' }, start.replace(/(^|\s)-?\d+(?=x|\s|$)/g, '$11')),
  ksm('kube_job_status_start_time', { job_name: jobName }, start),
  ksm('kube_job_failed', { job_name: jobName, condition: 'true' }, failed),
];

/*
 * promtool starts the clock at 0 (1970-01-01), so "last success" timestamps are negative: a
 * value of -93000 is 93000s (25h50m) before the test starts.
 */
export function backupCases(env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  const stale = (name: string, cronjob: string, what: string, maxAge: string, impact: string, age: string) =>
    r.fired(name, name === 'BackupVerifyTooOld' || name === 'BackupOffsiteBehind' ? 'warning' : 'critical', { namespace: ns, cronjob }, {
      summary: `No successful ${what} for ${age} in ${ns}`,
      description: `CronJob ${cronjob} has not completed successfully for more than ${maxAge} (objective)${name === 'BackupIncrementalTooOld' ? '' : ' and no run of it is in progress'}. ${impact}`,
    });
  const fullImpact =
    'A restore would have to replay more WAL than planned, and a gap in the WAL archive would lose data back to the previous full backup.';
  const incImpact =
    'The recovery point objective is missed: a disaster now loses every transaction since the last archived WAL segment.';
  const offsiteImpact =
    'The encrypted off-site copy lacks the backups and WAL published since: losing the cluster and its backup volume together now loses that much. Runs retry and catch up by themselves once the object store is reachable.';
  const failed = (cronjob: string) =>
    r.fired('BackupJobFailed', 'warning', { namespace: ns, cronjob }, {
      summary: `The last run of CronJob ${cronjob} failed`,
      description: `A Job of ${ns}/${cronjob} failed and no run has succeeded since. The alert resolves with the next successful run.`,
    });
  const keep = pgSizeBytes(env.database.maxSlotWalKeepSize);
  const slot = (name: string, values: string) =>
    series('cnpg_pg_replication_slots_pg_wal_lsn_diff', { job: 'cnpg', namespace: ns, pod: 'bitpin-cluster-1', slot_name: name, slot_type: 'physical', database: '' }, values);
  const pvc = (metric: string, values: string) =>
    series(metric, { job: 'kubelet', namespace: ns, persistentvolumeclaim: 'bitpin-backup', node: 'node-1' }, values);
  const ratioPct = Math.round(env.backup.volumeWarnRatio * 100);
  const above = Math.min(0.99, env.backup.volumeWarnRatio + 0.1);

  return [
    {
      name: 'BackupFullTooOld: last success 26h ago fires 10m later',
      // Succeeded 25h50m before the test: older than 26h from 10m on (pending at 11m), firing at 21m.
      input_series: [lastSuccess('bitpin-full-backup', '-93000x30'), created('bitpin-full-backup', '-900000x30')],
      alert_rule_test: [
        silent('BackupFullTooOld', '20m'),
        firing('BackupFullTooOld', '21m', stale('BackupFullTooOld', 'bitpin-full-backup', 'full backup', '26h', fullImpact, '1d 2h 11m 0s')),
      ],
    },
    {
      name: 'BackupFullTooOld: a CronJob that never succeeded, created 26h ago, fires too',
      input_series: [created('bitpin-full-backup', '-93000x30')],
      alert_rule_test: [
        silent('BackupFullTooOld', '20m'),
        firing('BackupFullTooOld', '21m', stale('BackupFullTooOld', 'bitpin-full-backup', 'full backup', '26h', fullImpact, '1d 2h 11m 0s')),
      ],
    },
    {
      name: 'BackupFullTooOld: a daily success stays silent (and other CronJobs do not count)',
      input_series: [
        lastSuccess('bitpin-full-backup', '-93000x10 600x30'),
        created('bitpin-full-backup', '-900000x40'),
        lastSuccess('some-other-job', '-900000x40'),
      ],
      alert_rule_test: [silent('BackupFullTooOld', '40m')],
    },
    {
      name: 'BackupFullTooOld: a run 2h slower than the last one stays quiet while it runs, and pages once it ends without success',
      // Last success 25h50m ago; today's run started and is still running at 26h (active 1 until
      // 40m), then ends without success (BackupJobFailed's case): the staleness pages 10m later.
      input_series: [
        lastSuccess('bitpin-full-backup', '-93000x60'),
        created('bitpin-full-backup', '-900000x60'),
        ksm('kube_cronjob_status_active', { cronjob: 'bitpin-full-backup' }, '1x40 0x20'),
      ],
      alert_rule_test: [
        silent('BackupFullTooOld', '30m'),
        silent('BackupFullTooOld', '50m'),
        firing('BackupFullTooOld', '51m', stale('BackupFullTooOld', 'bitpin-full-backup', 'full backup', '26h', fullImpact, '1d 2h 41m 0s')),
      ],
    },
    {
      name: 'BackupFullTooOld: the slow run succeeds at 35m: never pages',
      input_series: [
        lastSuccess('bitpin-full-backup', '-93000x35 2100x25'),
        created('bitpin-full-backup', '-900000x60'),
        ksm('kube_cronjob_status_active', { cronjob: 'bitpin-full-backup' }, '1x35 0x25'),
      ],
      alert_rule_test: [silent('BackupFullTooOld', '30m'), silent('BackupFullTooOld', '60m')],
    },
    {
      name: 'BackupIncrementalTooOld: last success 31 minutes ago pages 2m later',
      input_series: [lastSuccess('bitpin-incremental-backup', '0x40'), created('bitpin-incremental-backup', '-900000x40')],
      alert_rule_test: [
        silent('BackupIncrementalTooOld', '32m'),
        firing(
          'BackupIncrementalTooOld',
          '33m',
          stale('BackupIncrementalTooOld', 'bitpin-incremental-backup', 'incremental (WAL) backup', '30m', incImpact, '33m 0s'),
        ),
      ],
    },
    {
      name: 'BackupIncrementalTooOld: a success every 15 minutes stays silent',
      input_series: [lastSuccess('bitpin-incremental-backup', '0x14 900x14 1800x14 2700x20'), created('bitpin-incremental-backup', '-900000x65')],
      alert_rule_test: [silent('BackupIncrementalTooOld', '65m')],
    },
    {
      name: 'BackupVerifyTooOld: no verified restore for 8 days warns after 1h',
      // 8d = 691200s; succeeded 687600s (7d23h) before: older than 8d from 1h on (pending at 1h1m), firing at 2h1m.
      input_series: [lastSuccess('bitpin-backup-verify', '-687600x130')],
      alert_rule_test: [
        silent('BackupVerifyTooOld', '2h'),
        firing(
          'BackupVerifyTooOld',
          '2h1m',
          stale('BackupVerifyTooOld', 'bitpin-backup-verify', 'restore verification', '8d', 'Nobody has proven for over a week that the newest backup restores.', '8d 1h 1m 0s'),
        ),
      ],
    },
    {
      name: 'BackupOffsiteBehind: object store down since 50m before, the off-site copy 1h behind warns 5m later; the catching-up run resolves it',
      // Succeeded 3000s (50m) before the test, then nothing (every run fails): older than 1h from
      // 10m on (pending at 11m), firing at 16m; the run at 30m catches up (success at 1800s).
      input_series: [lastSuccess('bitpin-offsite-backup', '-3000x30 1800x20'), created('bitpin-offsite-backup', '-900000x50')],
      alert_rule_test: [
        silent('BackupOffsiteBehind', '15m'),
        firing('BackupOffsiteBehind', '16m', stale('BackupOffsiteBehind', 'bitpin-offsite-backup', 'off-site copy upload', '1h', offsiteImpact, '1h 6m 0s')),
        silent('BackupOffsiteBehind', '31m'),
      ],
    },
    {
      name: 'BackupOffsiteBehind: an env without the off-site copy (no CronJob) stays silent',
      input_series: [lastSuccess('bitpin-full-backup', '-600x60'), created('bitpin-full-backup', '-900000x60')],
      alert_rule_test: [silent('BackupOffsiteBehind', '1h')],
    },
    {
      name: 'BackupVerifyTooOld: verified 7 days ago stays silent',
      input_series: [lastSuccess('bitpin-backup-verify', '-604800x130')],
      alert_rule_test: [silent('BackupVerifyTooOld', '2h10m')],
    },
    {
      name: 'BackupJobFailed: a failed run after the last success fires at once and resolves with the next success',
      input_series: [
        lastSuccess('bitpin-full-backup', '-1000x29 1800x20'),
        ...job('bitpin-full-backup', 'bitpin-full-backup-29000000', '_x10 600x40', '_x10 0x4 1x35'),
        // A failed Job of some other CronJob is not a backup failure.
        ...job('cleanup', 'cleanup-29000000', '600x50', '1x50'),
      ],
      alert_rule_test: [
        silent('BackupJobFailed', '14m'),
        firing('BackupJobFailed', '15m', failed('bitpin-full-backup')),
        firing('BackupJobFailed', '29m', failed('bitpin-full-backup')),
        silent('BackupJobFailed', '30m'),
      ],
    },
    {
      name: 'BackupJobFailed: a CronJob that never succeeded and whose Job failed fires',
      input_series: [...job('bitpin-incremental-backup', 'bitpin-incremental-backup-29000015', '60x10', '0 0 1x8')],
      alert_rule_test: [silent('BackupJobFailed', '1m'), firing('BackupJobFailed', '2m', failed('bitpin-incremental-backup'))],
    },
    {
      name: 'BackupJobFailed: an old failure followed by a success stays silent',
      input_series: [
        lastSuccess('bitpin-incremental-backup', '1000x10'),
        ...job('bitpin-incremental-backup', 'bitpin-incremental-backup-1', '100x10', '1x10'),
        ...job('bitpin-incremental-backup', 'bitpin-incremental-backup-2', '900x10', '0x10'),
      ],
      alert_rule_test: [silent('BackupJobFailed', '10m')],
    },
    {
      name: `BackupVolumeFillingUp: above ${ratioPct}% (env ${env.name}) for 15m`,
      input_series: [pvc('kubelet_volume_stats_capacity_bytes', '100x30'), pvc('kubelet_volume_stats_used_bytes', `50 50 ${Math.round(above * 100)}x30`)],
      alert_rule_test: [
        silent('BackupVolumeFillingUp', '16m'),
        firing(
          'BackupVolumeFillingUp',
          '17m',
          r.fired('BackupVolumeFillingUp', 'warning', { namespace: ns, persistentvolumeclaim: 'bitpin-backup' }, {
            summary: `Backup volume bitpin-backup is ${Math.round(above * 100)}% full`,
            description: `The backup volume in ${ns} has been above ${ratioPct}% (env ${env.name}: backup.volumeWarnRatio) for 15 minutes. Backups fail when it is full; grow it (backup.storageSize) or shorten retention (backup.retentionDays = ${env.backup.retentionDays}).`,
          }),
        ),
      ],
    },
    {
      name: 'BackupVolumeFillingUp: below the ratio stays silent',
      input_series: [pvc('kubelet_volume_stats_capacity_bytes', '100x30'), pvc('kubelet_volume_stats_used_bytes', `${Math.round((env.backup.volumeWarnRatio - 0.1) * 100)}x30`)],
      alert_rule_test: [silent('BackupVolumeFillingUp', '30m')],
    },
    {
      name: `BackupWALSlotRetentionHigh: the backup slot holds 75% of max_slot_wal_keep_size (${env.database.maxSlotWalKeepSize}) for 15m`,
      input_series: [
        slot('bitpin_backup', `0 0 ${keep * 0.75}x30`),
        slot('_cnpg_bitpin_cluster_2', `${keep * 0.9}x32`),
      ],
      alert_rule_test: [
        silent('BackupWALSlotRetentionHigh', '16m'),
        firing(
          'BackupWALSlotRetentionHigh',
          '17m',
          r.fired('BackupWALSlotRetentionHigh', 'warning', { namespace: ns, slot_name: 'bitpin_backup' }, {
            summary: `Backup slot bitpin_backup retains ${(keep * 0.75) / 1024 ** 3}GiB of WAL`,
            description: `The WAL slot the incremental backup streams from holds more than 50% of max_slot_wal_keep_size (${env.database.maxSlotWalKeepSize}, env ${env.name}) for 15 minutes. At 100% PostgreSQL invalidates the slot and the WAL archive gets a gap: point-in-time recovery past it becomes impossible.`,
          }),
        ),
      ],
    },
    {
      name: 'BackupWALSlotRetentionHigh: a quarter of the limit stays silent',
      input_series: [slot('bitpin_backup', `${keep * 0.25}x30`)],
      alert_rule_test: [silent('BackupWALSlotRetentionHigh', '30m')],
    },
    ...(env.backup.walReceiver.enabled ? walReceiverCases(env, r) : []),
  ];
}

function walReceiverCases(env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  const target = { job: 'bitpin-wal-receiver', instance: '10.0.0.7:9188', namespace: ns, pod: 'bitpin-wal-receiver-5d9c7-x2k4p' };
  const m = (metric: string, values: string) => series(metric, target, values);
  const down = r.fired('BackupWALReceiverDown', 'critical', { namespace: ns }, {
    summary: `The WAL receiver is not streaming in ${ns}`,
    description: `Deployment bitpin-wal-receiver has not streamed WAL from the primary (or could not be scraped) for 5 minutes. ${RECEIVER_DOWN_IMPACT[env.backup.walReceiver.synchronous]}`,
  });
  const lagLimit = env.backup.walReceiver.lagAlertSeconds;
  return [
    {
      name: 'BackupWALReceiverDown: the receiver reports it is not streaming for 5m',
      // Streaming for 2m, then not: pending from 2m, firing from 7m.
      input_series: [m('bitpin_wal_receiver_up', '1 1 0x20'), m('up', '1x22')],
      alert_rule_test: [silent('BackupWALReceiverDown', '6m'), firing('BackupWALReceiverDown', '8m', down)],
    },
    {
      name: 'BackupWALReceiverDown: its metrics cannot be scraped for 5m',
      input_series: [m('bitpin_wal_receiver_up', '1 1'), m('up', '1 1 0x20')],
      alert_rule_test: [silent('BackupWALReceiverDown', '6m'), firing('BackupWALReceiverDown', '8m', down)],
    },
    {
      name: 'BackupWALReceiverDown: a receiver restarting for a minute stays silent',
      input_series: [m('bitpin_wal_receiver_up', '1 1 0 1x20'), m('up', '1x22')],
      alert_rule_test: [silent('BackupWALReceiverDown', '10m')],
    },
    {
      name: `BackupWALReceiverLagging: ${lagLimit * 2} s behind for 5m`,
      input_series: [m('bitpin_wal_receiver_lag_seconds', `0 0 ${lagLimit * 2}x20`)],
      alert_rule_test: [
        silent('BackupWALReceiverLagging', '6m'),
        firing(
          'BackupWALReceiverLagging',
          '8m',
          r.fired('BackupWALReceiverLagging', 'warning', { namespace: ns }, {
            summary: `The WAL receiver is ${humanizeSeconds(lagLimit * 2)} behind the primary in ${ns}`,
            description: `The WAL archive has lacked WAL the primary flushed for more than ${lagLimit} s (env ${env.name}: backup.walReceiver.lagAlertSeconds) for 5 minutes: a disaster now loses that much. Usually the backup volume or the network to it is too slow for the write rate.`,
          }),
        ),
      ],
    },
    {
      name: 'BackupWALReceiverLagging: a second behind stays silent',
      input_series: [m('bitpin_wal_receiver_lag_seconds', '1x30')],
      alert_rule_test: [silent('BackupWALReceiverLagging', '30m')],
    },
  ];
}

/** Prometheus's humanizeDuration for whole seconds under a day (`2m 0s`). */
function humanizeSeconds(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h ${m}m ${sec}s` : m ? `${m}m ${sec}s` : `${sec}s`;
}
