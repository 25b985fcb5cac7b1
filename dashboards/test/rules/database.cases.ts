import type { EnvConfig } from '@bitpin/config';
import { firing, series, silent, type PromtoolCase, type RuleIndex } from '../promtool.js';
import { expanded } from './expand.js';

const ns = 'bitpin-task';
const pod1 = 'bitpin-cluster-1';
const pod2 = 'bitpin-cluster-2';
const cnpg = (metric: string, pod: string, values: string, extra: Record<string, string> = {}) =>
  series(metric, { job: 'cnpg', namespace: ns, pod, ...extra }, values);
const kubelet = (metric: string, pvc: string, values: string) =>
  series(metric, { job: 'kubelet', namespace: ns, persistentvolumeclaim: pvc, node: 'node-1' }, values);
const replication = (user: string, app: string, values: string) =>
  cnpg('cnpg_pg_stat_replication_replay_lag_seconds', pod1, values, { usename: user, application_name: app, client_addr: '10.0.0.9', client_port: '5432' });

export function databaseCases(env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  const expected = env.database.instances - 1;
  const instanceDown = (pod: string) =>
    r.fired('CNPGInstanceDown', 'critical', { namespace: ns, pod }, {
      summary: `PostgreSQL instance ${pod} is down`,
      description: `For 5 minutes either Prometheus could not scrape the exporter of ${ns}/${pod} or the exporter could not reach PostgreSQL (cnpg_collector_up == 0).`,
    });
  const replicasMissing = (severity: 'critical' | 'warning', value: number) =>
    r.fired('CNPGStreamingReplicasMissing', severity, { namespace: ns }, {
      summary: `bitpin-cluster has ${value} of ${expected} expected streaming standby(s) in ${ns}`,
      description:
        severity === 'critical'
          ? `The primary sees no standby streaming as streaming_replica for 5 minutes (env ${env.name}: ${env.database.instances} instances, so ${expected} expected). There is no failover target: losing the primary now means downtime and possibly data loss. The backup's pg_receivewal is not counted.`
          : `The primary sees fewer than ${expected} standbys streaming as streaming_replica for 5 minutes (env ${env.name}: ${env.database.instances} instances). High availability is reduced.`,
    });
  const volume = (severity: 'critical' | 'warning', pvc: string, pct: string) =>
    r.fired('CNPGVolumeFillingUp', severity, { namespace: ns, persistentvolumeclaim: pvc }, {
      summary: `PostgreSQL volume ${pvc} is ${pct} full`,
      description:
        severity === 'warning'
          ? `Volume ${ns}/${pvc} has been more than 80% full for 5 minutes. Grow it (storage.size; resizeInUseVolumes is on) before PostgreSQL stops.`
          : `Volume ${ns}/${pvc} has been more than 90% full for 5 minutes. When it is full PostgreSQL shuts down; grow it now.`,
    });

  // Standbys streaming from the primary: pod2..podN, then `lost` of them stop at 2m.
  const standbys = (lost: number) =>
    Array.from({ length: expected }, (_, i) =>
      replication('streaming_replica', `bitpin-cluster-${i + 2}`, i < lost ? '0 0 stale' : '0x20'),
    );
  const primaryAndBackup = [
    cnpg('cnpg_pg_replication_in_recovery', pod1, '0x20'),
    // The backup's pg_receivewal is a replication client too; it must not count as a standby.
    replication('bitpin_backup', 'pg_receivewal', '0x20'),
  ];

  const replicaCases: PromtoolCase[] = [
    {
      name: `CNPGStreamingReplicasMissing: all ${expected} standby(s) gone for 5m pages, the backup stream does not count`,
      input_series: [...primaryAndBackup, ...standbys(expected)],
      alert_rule_test: [
        silent('CNPGStreamingReplicasMissing', '6m'),
        firing(
          'CNPGStreamingReplicasMissing',
          '7m',
          ...(expected >= 2 ? [replicasMissing('warning', 0)] : []),
          replicasMissing('critical', 0),
        ),
      ],
    },
    {
      name: 'CNPGStreamingReplicasMissing: every expected standby streaming stays silent; so does a cluster without primary',
      input_series: [
        ...primaryAndBackup,
        ...standbys(0),
        series('cnpg_pg_replication_in_recovery', { job: 'cnpg', namespace: 'other', pod: 'x-1' }, '1x20'),
      ],
      alert_rule_test: [silent('CNPGStreamingReplicasMissing', '20m')],
    },
  ];
  if (expected >= 2) {
    replicaCases.push({
      name: `CNPGStreamingReplicasMissing: ${expected - 1} of ${expected} standbys is a warning only`,
      input_series: [...primaryAndBackup, ...standbys(1)],
      alert_rule_test: [firing('CNPGStreamingReplicasMissing', '7m', replicasMissing('warning', expected - 1))],
    });
  }

  return [
    {
      name: 'CNPGInstanceDown: a failed scrape or a collector that cannot reach PostgreSQL, for 5m',
      input_series: [
        cnpg('up', pod1, '1x12'),
        cnpg('cnpg_collector_up', pod1, '1 1 1 0x10', { cluster: 'bitpin-cluster' }),
        cnpg('up', pod2, '1 1 0x10'),
        cnpg('cnpg_collector_up', pod2, '1 1 stale', { cluster: 'bitpin-cluster' }),
      ],
      alert_rule_test: [
        silent('CNPGInstanceDown', '6m'),
        firing('CNPGInstanceDown', '7m', instanceDown(pod2)),
        firing('CNPGInstanceDown', '8m', instanceDown(pod1), instanceDown(pod2)),
      ],
    },
    {
      name: 'CNPGInstanceDown: healthy instances stay silent',
      input_series: [cnpg('up', pod1, '1x12'), cnpg('cnpg_collector_up', pod1, '1x12', { cluster: 'bitpin-cluster' })],
      alert_rule_test: [silent('CNPGInstanceDown', '12m')],
    },
    {
      name: 'CNPGNoPrimary: every instance in recovery for 2m',
      input_series: [cnpg('cnpg_pg_replication_in_recovery', pod1, '0 0 1x10'), cnpg('cnpg_pg_replication_in_recovery', pod2, '1x12')],
      alert_rule_test: [
        silent('CNPGNoPrimary', '3m'),
        firing(
          'CNPGNoPrimary',
          '4m',
          r.fired('CNPGNoPrimary', 'critical', { namespace: ns }, {
            summary: `bitpin-cluster has no primary in ${ns}`,
            description:
              'All 2 reporting instances are in recovery for 2 minutes: no instance accepts writes. A failover is stuck or the primary is fenced.',
          }),
        ),
      ],
    },
    {
      name: 'CNPGNoPrimary: a primary and a standby stay silent',
      input_series: [cnpg('cnpg_pg_replication_in_recovery', pod1, '0x12'), cnpg('cnpg_pg_replication_in_recovery', pod2, '1x12')],
      alert_rule_test: [silent('CNPGNoPrimary', '12m')],
    },
    {
      name: 'CNPGReplicationLag: a standby 45s behind for 5m',
      input_series: [cnpg('cnpg_pg_replication_lag', pod1, '0x12'), cnpg('cnpg_pg_replication_lag', pod2, '0 0 45x10')],
      alert_rule_test: [
        silent('CNPGReplicationLag', '6m'),
        firing(
          'CNPGReplicationLag',
          '7m',
          r.fired('CNPGReplicationLag', 'warning', { namespace: ns, pod: pod2 }, {
            summary: `Standby ${pod2} replays WAL 45s behind the primary`,
            description: `Standby ${ns}/${pod2} has been more than 30s behind the primary for 5 minutes; reads from the -ro service are stale and a failover would lose that much.`,
          }),
        ),
      ],
    },
    {
      name: 'CNPGReplicationLag: 10s stays silent',
      input_series: [cnpg('cnpg_pg_replication_lag', pod2, '10x12')],
      alert_rule_test: [silent('CNPGReplicationLag', '12m')],
    },
    ...replicaCases,
    {
      name: 'CNPGConnectionsNearMax: 170 of 200 connections for 5m',
      input_series: [
        cnpg('cnpg_backends_total', pod1, '50 50 100x10', { datname: 'app', usename: 'app', application_name: '', state: 'active' }),
        cnpg('cnpg_backends_total', pod1, '0 0 70x10', { datname: 'app', usename: 'app', application_name: '', state: 'idle' }),
        cnpg('cnpg_pg_settings_setting', pod1, '200x12', { name: 'max_connections' }),
        cnpg('cnpg_pg_settings_setting', pod1, '100x12', { name: 'max_wal_senders' }),
      ],
      alert_rule_test: [
        silent('CNPGConnectionsNearMax', '6m'),
        firing(
          'CNPGConnectionsNearMax',
          '7m',
          r.fired('CNPGConnectionsNearMax', 'warning', { namespace: ns, pod: pod1 }, {
            summary: `PostgreSQL ${pod1} uses 85% of max_connections`,
            description: `${ns}/${pod1} has used more than 80% of max_connections for 5 minutes (env ${env.name} configures ${env.database.maxConnections}). New connections will soon be refused.`,
          }),
        ),
      ],
    },
    {
      name: 'CNPGConnectionsNearMax: half the connections stays silent',
      input_series: [
        cnpg('cnpg_backends_total', pod1, '100x12', { datname: 'app', usename: 'app', application_name: '', state: 'active' }),
        cnpg('cnpg_pg_settings_setting', pod1, '200x12', { name: 'max_connections' }),
      ],
      alert_rule_test: [silent('CNPGConnectionsNearMax', '12m')],
    },
    {
      name: 'CNPGWALArchiveFailing: last failure newer than last success for 5m',
      input_series: [
        cnpg('cnpg_pg_stat_archiver_last_archived_time', pod1, '100x12'),
        cnpg('cnpg_pg_stat_archiver_last_failed_time', pod1, '-1 -1 200x10'),
      ],
      alert_rule_test: [
        silent('CNPGWALArchiveFailing', '6m'),
        firing(
          'CNPGWALArchiveFailing',
          '7m',
          r.fired('CNPGWALArchiveFailing', 'critical', { namespace: ns, pod: pod1 }, {
            summary: `WAL archiving fails on ${pod1}`,
            description: `The last archive_command attempt on ${ns}/${pod1} failed and nothing has been archived since, for 5 minutes. PostgreSQL keeps every unarchived WAL segment, so pg_wal grows until the volume is full.`,
          }),
        ),
      ],
    },
    {
      name: 'CNPGWALArchiveFailing: a failure followed by a success (retry worked) stays silent',
      input_series: [
        cnpg('cnpg_pg_stat_archiver_last_archived_time', pod1, '100 100 100 300x10'),
        cnpg('cnpg_pg_stat_archiver_last_failed_time', pod1, '-1 -1 200x10'),
      ],
      alert_rule_test: [silent('CNPGWALArchiveFailing', '12m')],
    },
    {
      name: 'CNPGXIDAgeHigh: 400M transactions on both instances is one alert per database',
      input_series: [
        cnpg('cnpg_pg_database_xid_age', pod1, '100000000 100000000 400000000x20', { datname: 'app' }),
        cnpg('cnpg_pg_database_xid_age', pod2, '100000000 100000000 400000000x20', { datname: 'app' }),
        cnpg('cnpg_pg_database_xid_age', pod1, '1000x22', { datname: 'postgres' }),
      ],
      alert_rule_test: [
        silent('CNPGXIDAgeHigh', '11m'),
        firing(
          'CNPGXIDAgeHigh',
          '12m',
          r.fired('CNPGXIDAgeHigh', 'warning', { namespace: ns, datname: 'app' }, {
            summary: 'Database app is 400M transactions from its frozen XID',
            description: `The oldest unfrozen transaction ID of app in ${ns} is more than 300M transactions old. At about 2 billion PostgreSQL stops accepting writes to prevent wraparound; autovacuum is not keeping up.`,
          }),
        ),
      ],
    },
    {
      name: 'CNPGXIDAgeHigh: 100M stays silent',
      input_series: [cnpg('cnpg_pg_database_xid_age', pod1, '100000000x20', { datname: 'app' })],
      alert_rule_test: [silent('CNPGXIDAgeHigh', '20m')],
    },
    {
      name: 'CNPGVolumeFillingUp: data and WAL volumes at 85% warn after 5m, 95% pages; other volumes are ignored',
      input_series: [
        kubelet('kubelet_volume_stats_capacity_bytes', 'bitpin-cluster-1', '100x30'),
        kubelet('kubelet_volume_stats_used_bytes', 'bitpin-cluster-1', '50 50 85x10 95x20'),
        kubelet('kubelet_volume_stats_capacity_bytes', 'bitpin-cluster-1-wal', '100x30'),
        kubelet('kubelet_volume_stats_used_bytes', 'bitpin-cluster-1-wal', '50 50 85x30'),
        kubelet('kubelet_volume_stats_capacity_bytes', 'bitpin-backup', '100x30'),
        kubelet('kubelet_volume_stats_used_bytes', 'bitpin-backup', '99x30'),
      ],
      alert_rule_test: [
        silent('CNPGVolumeFillingUp', '6m'),
        firing('CNPGVolumeFillingUp', '7m', volume('warning', 'bitpin-cluster-1', '85%'), volume('warning', 'bitpin-cluster-1-wal', '85%')),
        firing('CNPGVolumeFillingUp', '17m', volume('warning', 'bitpin-cluster-1', '95%'), volume('warning', 'bitpin-cluster-1-wal', '85%')),
        firing(
          'CNPGVolumeFillingUp',
          '18m',
          volume('warning', 'bitpin-cluster-1', '95%'),
          volume('warning', 'bitpin-cluster-1-wal', '85%'),
          volume('critical', 'bitpin-cluster-1', '95%'),
        ),
      ],
    },
    {
      name: 'CNPGVolumeFillingUp: 70% stays silent',
      input_series: [
        kubelet('kubelet_volume_stats_capacity_bytes', 'bitpin-cluster-2', '100x30'),
        kubelet('kubelet_volume_stats_used_bytes', 'bitpin-cluster-2', '70x30'),
      ],
      alert_rule_test: [silent('CNPGVolumeFillingUp', '30m')],
    },
    {
      name: 'CNPGClusterOffline: every instance gone or unable to reach PostgreSQL for 5m',
      input_series: [
        cnpg('cnpg_collector_up', pod1, '1 0x10', { cluster: 'bitpin-cluster' }),
        cnpg('cnpg_collector_up', pod2, '1 stale', { cluster: 'bitpin-cluster' }),
      ],
      alert_rule_test: [
        silent('CNPGClusterOffline', '5m'),
        firing('CNPGClusterOffline', '6m', expanded(r, 'CNPGClusterOffline', 'critical', {})),
      ],
    },
    {
      name: 'CNPGClusterOffline: one instance down and one up stays quiet (CNPGInstanceDown pages for it)',
      input_series: [
        cnpg('cnpg_collector_up', pod1, '1 0x10', { cluster: 'bitpin-cluster' }),
        cnpg('cnpg_collector_up', pod2, '1x11', { cluster: 'bitpin-cluster' }),
      ],
      alert_rule_test: [silent('CNPGClusterOffline', '10m')],
    },
    {
      name: 'CNPGReplicationLag critical: more than 5 minutes behind for 5m',
      input_series: [cnpg('cnpg_pg_replication_lag', pod2, '400x10')],
      alert_rule_test: [
        silent('CNPGReplicationLag', '4m'),
        firing(
          'CNPGReplicationLag',
          '5m',
          expanded(r, 'CNPGReplicationLag', 'warning', { namespace: ns, pod: pod2 }, '6m 40s'),
          expanded(r, 'CNPGReplicationLag', 'critical', { namespace: ns, pod: pod2 }, '6m 40s'),
        ),
      ],
    },
    {
      name: 'CNPGReplicationLag critical: 100s behind is a warning only',
      input_series: [cnpg('cnpg_pg_replication_lag', pod2, '100x10')],
      alert_rule_test: [firing('CNPGReplicationLag', '10m', expanded(r, 'CNPGReplicationLag', 'warning', { namespace: ns, pod: pod2 }, '1m 40s'))],
    },
    {
      name: 'CNPGConnectionsNearMax critical: 96% of max_connections for 5m',
      input_series: [
        cnpg('cnpg_backends_total', pod1, '290x10', { datname: 'app', usename: 'app', application_name: 'django', state: 'idle' }),
        cnpg('cnpg_pg_settings_setting', pod1, '300x10', { name: 'max_connections' }),
      ],
      alert_rule_test: [
        firing(
          'CNPGConnectionsNearMax',
          '5m',
          expanded(r, 'CNPGConnectionsNearMax', 'warning', { namespace: ns, pod: pod1 }, '96.67%'),
          expanded(r, 'CNPGConnectionsNearMax', 'critical', { namespace: ns, pod: pod1 }, '96.67%'),
        ),
      ],
    },
    {
      name: 'CNPGConnectionsNearMax critical: 90% is a warning only',
      input_series: [
        cnpg('cnpg_backends_total', pod1, '270x10', { datname: 'app', usename: 'app', application_name: 'django', state: 'idle' }),
        cnpg('cnpg_pg_settings_setting', pod1, '300x10', { name: 'max_connections' }),
      ],
      alert_rule_test: [firing('CNPGConnectionsNearMax', '10m', expanded(r, 'CNPGConnectionsNearMax', 'warning', { namespace: ns, pod: pod1 }, '90%'))],
    },
    {
      name: 'CNPGLongRunningTransaction: an app transaction open for 10 minutes',
      input_series: [cnpg('cnpg_backends_max_tx_duration_seconds', pod1, '600x5', { datname: 'app', usename: 'app', application_name: 'django', state: 'idle in transaction' })],
      alert_rule_test: [
        silent('CNPGLongRunningTransaction', '0m'),
        firing('CNPGLongRunningTransaction', '1m', expanded(r, 'CNPGLongRunningTransaction', 'warning', { namespace: ns, pod: pod1, datname: 'app', usename: 'app' }, '10m 0s')),
      ],
    },
    {
      name: "CNPGLongRunningTransaction: the backup role's hour-long dump and a 1-minute app transaction stay quiet",
      input_series: [
        cnpg('cnpg_backends_max_tx_duration_seconds', pod2, '3600x10', { datname: 'app', usename: 'bitpin_backup', application_name: 'pg_dump', state: 'active' }),
        cnpg('cnpg_backends_max_tx_duration_seconds', pod1, '60x10', { datname: 'app', usename: 'app', application_name: 'django', state: 'active' }),
      ],
      alert_rule_test: [silent('CNPGLongRunningTransaction', '10m')],
    },
    {
      name: 'CNPGBackendsWaiting: 20 backends waiting on locks for 5m',
      input_series: [cnpg('cnpg_backends_waiting_total', pod1, '20x10')],
      alert_rule_test: [
        silent('CNPGBackendsWaiting', '4m'),
        firing('CNPGBackendsWaiting', '5m', expanded(r, 'CNPGBackendsWaiting', 'warning', { namespace: ns, pod: pod1 }, '20')),
      ],
    },
    {
      name: 'CNPGBackendsWaiting: a few short lock waits stay quiet',
      input_series: [cnpg('cnpg_backends_waiting_total', pod1, '3 0 5 0 2 0 3 0 1 0 4')],
      alert_rule_test: [silent('CNPGBackendsWaiting', '10m')],
    },
    {
      name: 'CNPGXIDAgeHigh critical: 1.2 billion transactions old for 10m',
      input_series: [cnpg('cnpg_pg_database_xid_age', pod1, '1200000000x12', { datname: 'app' })],
      alert_rule_test: [
        firing(
          'CNPGXIDAgeHigh',
          '10m',
          expanded(r, 'CNPGXIDAgeHigh', 'warning', { namespace: ns, datname: 'app' }, '1.2G'),
          expanded(r, 'CNPGXIDAgeHigh', 'critical', { namespace: ns, datname: 'app' }, '1.2G'),
        ),
      ],
    },
    {
      name: 'CNPGXIDAgeHigh critical: 500 million is a warning only',
      input_series: [cnpg('cnpg_pg_database_xid_age', pod1, '500000000x12', { datname: 'app' })],
      alert_rule_test: [firing('CNPGXIDAgeHigh', '12m', expanded(r, 'CNPGXIDAgeHigh', 'warning', { namespace: ns, datname: 'app' }, '500M'))],
    },
    ...(env.database.pooler.enabled ? poolerCases(env, r) : []),
  ];
}

/** The poolers' PgBouncer (job pgbouncer), where the env pools connections. */
function poolerCases(env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  const rw1 = 'bitpin-cluster-pooler-rw-7d9f8c6b5-abcde';
  const rw2 = 'bitpin-cluster-pooler-rw-7d9f8c6b5-fghij';
  const pgb = (metric: string, pod: string, values: string, extra: Record<string, string> = {}) =>
    series(`cnpg_pgbouncer_${metric}`, { job: 'pgbouncer', namespace: ns, pod, ...extra }, values);
  const pool = (metric: string, pod: string, values: string) => pgb(`pools_${metric}`, pod, values, { database: 'app', user: 'app' });
  // max_db_connections of one PgBouncer pod: default_pool_size + reserve_pool_size.
  const size = env.database.pooler.defaultPoolSize + env.database.pooler.reservePoolSize;
  const pct = (x: number) => `${Number((x * 100).toPrecision(4))}%`;
  return [
    {
      name: 'PgBouncerDown: every PgBouncer stops working (cnpg_pgbouncer_up 0) and it pages after 2m',
      input_series: [pgb('up', rw1, '1 1 1 0x10'), pgb('up', rw2, '1 1 1 0x10')],
      alert_rule_test: [silent('PgBouncerDown', '4m'), firing('PgBouncerDown', '5m', expanded(r, 'PgBouncerDown', 'critical', { job: 'pgbouncer', namespace: ns }))],
    },
    {
      name: 'PgBouncerDown: the pooler pods disappear (no target of job pgbouncer) and it pages; one working PgBouncer of two keeps it silent',
      input_series: [pgb('up', rw1, '1 1 stale'), pgb('up', rw2, '1 1 0x10')],
      alert_rule_test: [silent('PgBouncerDown', '1m'), firing('PgBouncerDown', '5m', expanded(r, 'PgBouncerDown', 'critical', { job: 'pgbouncer', namespace: ns }))],
    },
    {
      name: 'PgBouncerDown: silent while one PgBouncer works',
      input_series: [pgb('up', rw1, '1x20'), pgb('up', rw2, '0x20')],
      alert_rule_test: [silent('PgBouncerDown', '10m')],
    },
    {
      name: `PgBouncerPoolSaturated: ${size - 1} of ${size} server connections busy on one pod for 10m; the other pod at half stays silent`,
      input_series: [pool('sv_active', rw1, `${size - 1}x15`), pool('sv_active', rw2, `${Math.floor(size / 2)}x15`)],
      alert_rule_test: [
        silent('PgBouncerPoolSaturated', '9m'),
        firing('PgBouncerPoolSaturated', '11m', expanded(r, 'PgBouncerPoolSaturated', 'warning', { namespace: ns, pod: rw1 }, pct((size - 1) / size))),
      ],
    },
    {
      name: 'PgBouncerPoolSaturated: 80% busy stays silent',
      input_series: [pool('sv_active', rw1, `${Math.floor(size * 0.8)}x15`)],
      alert_rule_test: [silent('PgBouncerPoolSaturated', '15m')],
    },
    {
      name: 'PgBouncerClientsWaiting: the oldest client waits 3s for 5m',
      input_series: [pool('maxwait', rw1, '0 0 3x10'), pool('maxwait_us', rw1, '0x12'), pool('maxwait', rw2, '0x12'), pool('maxwait_us', rw2, '0x12')],
      alert_rule_test: [
        silent('PgBouncerClientsWaiting', '6m'),
        firing('PgBouncerClientsWaiting', '7m', expanded(r, 'PgBouncerClientsWaiting', 'warning', { namespace: ns, pod: rw1 }, '3s')),
      ],
    },
    {
      name: 'PgBouncerClientsWaiting: waits under a second (maxwait 0, 900 ms) stay silent',
      input_series: [pool('maxwait', rw1, '0x12'), pool('maxwait_us', rw1, '900000x12')],
      alert_rule_test: [silent('PgBouncerClientsWaiting', '12m')],
    },
  ];
}
