import { SEED, type EnvConfig } from '@bitpin/config';
import { JOBS, re, sel, type Matcher } from '../promql.js';
import { alert, ruleFile, ruleGroup, type AlertingRule, type PrometheusRuleFile } from './builder.js';

const job = JOBS.database;
const cluster = SEED.database.clusterName;
/** The cluster's data and WAL volumes: `bitpin-cluster-1`, `bitpin-cluster-1-wal`, … */
export const CNPG_PVC_PATTERN = `${cluster}-[0-9]+(-wal)?`;
/** The user CloudNativePG standbys replicate as. Other replication clients (pg_receivewal of the backup) use their own role. */
export const STANDBY_REPLICATION_USER = 'streaming_replica';
/** The backup jobs' role: its pg_dump / pg_basebackup sessions are long by design. */
const BACKUP_ROLE = SEED.backup.role;
/** Names of the alerts about one instance or replication that CNPGClusterOffline makes redundant (Alertmanager inhibition). */
export const CNPG_INSTANCE_ALERTS = [
  'CNPGInstanceDown',
  'CNPGNoPrimary',
  'CNPGStreamingReplicasMissing',
  'CNPGReplicationLag',
  'CNPGWALArchiveFailing',
] as const;

const volumeUsedRatio = (pvc: string) => `max by (namespace, persistentvolumeclaim) (${sel('kubelet_volume_stats_used_bytes', { job: JOBS.kubelet, persistentvolumeclaim: re(pvc) })})
/
max by (namespace, persistentvolumeclaim) (${sel('kubelet_volume_stats_capacity_bytes', { job: JOBS.kubelet, persistentvolumeclaim: re(pvc) })})`;

/**
 * Standbys streaming from the primary, as the primary sees them (0 when it sees none), per
 * namespace. `scope` narrows the series (dashboards add their variables).
 */
export function streamingStandbysExpr(scope: Readonly<Record<string, Matcher>> = { job }): string {
  return `(
  count by (namespace) (${sel('cnpg_pg_stat_replication_replay_lag_seconds', { ...scope, usename: STANDBY_REPLICATION_USER })})
  or
  0 * count by (namespace) (${sel('cnpg_pg_replication_in_recovery', scope)} == 0)
)`;
}

/**
 * CloudNativePG cluster `bitpin-cluster` (metrics of the instance exporter, port 9187) and its
 * volumes (kubelet volume stats).
 */
export function databaseRules(env: EnvConfig): PrometheusRuleFile {
  const expectedStandbys = env.database.instances - 1;
  const alerts: AlertingRule[] = [
    alert({
      name: 'CNPGClusterOffline',
      expr: `absent(${sel('cnpg_collector_up', { job, namespace: SEED.namespaces.app })} == 1)`,
      for: '5m',
      severity: 'critical',
      labels: { job, namespace: SEED.namespaces.app },
      summary: `${cluster} is offline: no instance reports a working PostgreSQL`,
      description: `For 5 minutes no instance of ${cluster} has been scraped with cnpg_collector_up == 1: every pod is gone, none can reach its PostgreSQL, or the cnpg scrape job finds no target. Every other CNPG alert needs these series and is silent now; the app cannot write.`,
    }),
    alert({
      name: 'CNPGInstanceDown',
      // `node` (a target label) is kept so that a NotReady node inhibits the alerts of its pods.
      expr: `(min by (namespace, pod, node) (${sel('up', { job })}) == 0)
or
(min by (namespace, pod, node) (${sel('cnpg_collector_up', { job })}) == 0)`,
      for: '5m',
      severity: 'critical',
      summary: 'PostgreSQL instance {{ $labels.pod }} is down',
      description:
        'For 5 minutes either Prometheus could not scrape the exporter of {{ $labels.namespace }}/{{ $labels.pod }} or the exporter could not reach PostgreSQL (cnpg_collector_up == 0).',
    }),
    alert({
      name: 'CNPGNoPrimary',
      expr: `count by (namespace) (${sel('cnpg_pg_replication_in_recovery', { job })})
unless on (namespace)
(${sel('cnpg_pg_replication_in_recovery', { job })} == 0)`,
      for: '2m',
      severity: 'critical',
      summary: `${cluster} has no primary in {{ $labels.namespace }}`,
      description:
        'All {{ $value }} reporting instances are in recovery for 2 minutes: no instance accepts writes. A failover is stuck or the primary is fenced.',
    }),
    alert({
      name: 'CNPGReplicationLag',
      expr: `max by (namespace, pod) (${sel('cnpg_pg_replication_lag', { job })}) > 30`,
      for: '5m',
      severity: 'warning',
      summary: 'Standby {{ $labels.pod }} replays WAL {{ $value | humanizeDuration }} behind the primary',
      description:
        'Standby {{ $labels.namespace }}/{{ $labels.pod }} has been more than 30s behind the primary for 5 minutes; reads from the -ro service are stale and a failover would lose that much.',
    }),
    alert({
      name: 'CNPGReplicationLag',
      expr: `max by (namespace, pod) (${sel('cnpg_pg_replication_lag', { job })}) > 300`,
      for: '5m',
      severity: 'critical',
      summary: 'Standby {{ $labels.pod }} replays WAL {{ $value | humanizeDuration }} behind the primary',
      description:
        'Standby {{ $labels.namespace }}/{{ $labels.pod }} has been more than 5 minutes behind the primary for 5 minutes: a failover now loses minutes of committed trades (RPO), and the -ro service serves stale data.',
    }),
  ];

  if (expectedStandbys >= 1) {
    const common = {
      name: 'CNPGStreamingReplicasMissing',
      summary: `${cluster} has {{ $value }} of ${expectedStandbys} expected streaming standby(s) in {{ $labels.namespace }}`,
    } as const;
    if (expectedStandbys >= 2) {
      alerts.push(
        alert({
          ...common,
          expr: `${streamingStandbysExpr()} < ${expectedStandbys}`,
          for: '5m',
          severity: 'warning',
          description: `The primary sees fewer than ${expectedStandbys} standbys streaming as ${STANDBY_REPLICATION_USER} for 5 minutes (env ${env.name}: ${env.database.instances} instances). High availability is reduced.`,
        }),
      );
    }
    alerts.push(
      alert({
        ...common,
        expr: `${streamingStandbysExpr()} < 1`,
        for: '5m',
        severity: 'critical',
        description: `The primary sees no standby streaming as ${STANDBY_REPLICATION_USER} for 5 minutes (env ${env.name}: ${env.database.instances} instances, so ${expectedStandbys} expected). There is no failover target: losing the primary now means downtime and possibly data loss. The backup's pg_receivewal is not counted.`,
      }),
    );
  }

  alerts.push(
    alert({
      name: 'CNPGConnectionsNearMax',
      expr: `sum by (namespace, pod) (${sel('cnpg_backends_total', { job })})
/ on (namespace, pod)
max by (namespace, pod) (${sel('cnpg_pg_settings_setting', { job, name: 'max_connections' })})
> 0.8`,
      for: '5m',
      severity: 'warning',
      summary: 'PostgreSQL {{ $labels.pod }} uses {{ $value | humanizePercentage }} of max_connections',
      description: `{{ $labels.namespace }}/{{ $labels.pod }} has used more than 80% of max_connections for 5 minutes (env ${env.name} configures ${env.database.maxConnections}). New connections will soon be refused.`,
    }),
    alert({
      name: 'CNPGConnectionsNearMax',
      expr: `sum by (namespace, pod) (${sel('cnpg_backends_total', { job })})
/ on (namespace, pod)
max by (namespace, pod) (${sel('cnpg_pg_settings_setting', { job, name: 'max_connections' })})
> 0.95`,
      for: '5m',
      severity: 'critical',
      summary: 'PostgreSQL {{ $labels.pod }} uses {{ $value | humanizePercentage }} of max_connections',
      description: `{{ $labels.namespace }}/{{ $labels.pod }} has used more than 95% of max_connections for 5 minutes (env ${env.name} configures ${env.database.maxConnections}): new app connections are about to be refused.`,
    }),
    alert({
      name: 'CNPGLongRunningTransaction',
      expr: `max by (namespace, pod, datname, usename) (${sel('cnpg_backends_max_tx_duration_seconds', { job, usename: { not: BACKUP_ROLE } })}) > 300`,
      for: '1m',
      severity: 'warning',
      summary: 'A transaction of {{ $labels.usename }} on {{ $labels.pod }} has been open for {{ $value | humanizeDuration }}',
      description: `A transaction of user {{ $labels.usename }} in database {{ $labels.datname }} on {{ $labels.namespace }}/{{ $labels.pod }} has been open for more than 5 minutes. It holds its locks and keeps autovacuum from removing dead rows (bloat, XID age). The backup role ${BACKUP_ROLE} is excluded: its dumps are long by design.`,
    }),
    alert({
      name: 'CNPGBackendsWaiting',
      expr: `max by (namespace, pod) (${sel('cnpg_backends_waiting_total', { job })}) > 10`,
      for: '5m',
      severity: 'warning',
      summary: '{{ $value }} backends on {{ $labels.pod }} wait for a lock',
      description:
        'More than 10 backends on {{ $labels.namespace }}/{{ $labels.pod }} have been waiting for locks held by other sessions for 5 minutes: requests queue behind a blocker (often a long transaction or a migration).',
    }),
    alert({
      name: 'CNPGWALArchiveFailing',
      expr: `max by (namespace, pod) (${sel('cnpg_pg_stat_archiver_last_failed_time', { job })})
> on (namespace, pod)
max by (namespace, pod) (${sel('cnpg_pg_stat_archiver_last_archived_time', { job })})`,
      for: '5m',
      severity: 'critical',
      summary: 'WAL archiving fails on {{ $labels.pod }}',
      description:
        "The last archive_command attempt on {{ $labels.namespace }}/{{ $labels.pod }} failed and nothing has been archived since, for 5 minutes. PostgreSQL keeps every unarchived WAL segment, so pg_wal grows until the volume is full.",
    }),
    alert({
      name: 'CNPGXIDAgeHigh',
      expr: `max by (namespace, datname) (${sel('cnpg_pg_database_xid_age', { job })}) > 300000000`,
      for: '10m',
      severity: 'warning',
      summary: 'Database {{ $labels.datname }} is {{ $value | humanize }} transactions from its frozen XID',
      description:
        'The oldest unfrozen transaction ID of {{ $labels.datname }} in {{ $labels.namespace }} is more than 300M transactions old. At about 2 billion PostgreSQL stops accepting writes to prevent wraparound; autovacuum is not keeping up.',
    }),
    alert({
      name: 'CNPGXIDAgeHigh',
      expr: `max by (namespace, datname) (${sel('cnpg_pg_database_xid_age', { job })}) > 1000000000`,
      for: '10m',
      severity: 'critical',
      summary: 'Database {{ $labels.datname }} is {{ $value | humanize }} transactions from its frozen XID',
      description:
        'The oldest unfrozen transaction ID of {{ $labels.datname }} in {{ $labels.namespace }} is more than 1 billion transactions old, half way to the 2 billion at which PostgreSQL stops accepting writes. Find what blocks vacuum (long transactions, stale replication slots) and VACUUM FREEZE now.',
    }),
    alert({
      name: 'CNPGVolumeFillingUp',
      expr: `${volumeUsedRatio(CNPG_PVC_PATTERN)}
> 0.8`,
      for: '5m',
      severity: 'warning',
      summary: 'PostgreSQL volume {{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full',
      description:
        'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has been more than 80% full for 5 minutes. Grow it (storage.size; resizeInUseVolumes is on) before PostgreSQL stops.',
    }),
    alert({
      name: 'CNPGVolumeFillingUp',
      expr: `${volumeUsedRatio(CNPG_PVC_PATTERN)}
> 0.9`,
      for: '5m',
      severity: 'critical',
      summary: 'PostgreSQL volume {{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full',
      description:
        'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has been more than 90% full for 5 minutes. When it is full PostgreSQL shuts down; grow it now.',
    }),
  );

  return ruleFile('cnpg.rules.yaml', [ruleGroup('cnpg', alerts), ...(env.database.pooler.enabled ? [ruleGroup('pgbouncer', poolerAlerts(env))] : [])]);
}

/** Share of a PgBouncer pod's server connections in use above which PgBouncerPoolSaturated fires. */
export const POOL_SATURATION_RATIO = 0.9;
/** Seconds the oldest client has waited for a server connection above which PgBouncerClientsWaiting fires. */
export const POOL_MAX_WAIT_SECONDS = 1;

/**
 * Server connections one PgBouncer pod may open to its database: `max_db_connections` of the
 * Pooler (libs/database sets it to default_pool_size + reserve_pool_size).
 */
export const poolerServerConnections = (env: EnvConfig) => env.database.pooler.defaultPoolSize + env.database.pooler.reservePoolSize;

/** Server connections in use (linked to a client) over what a PgBouncer pod may open, per pod. */
export const poolSaturationExpr = (env: EnvConfig, scope: Readonly<Record<string, Matcher>> = { job: JOBS.pooler }) =>
  `sum by (namespace, pod) (${sel('cnpg_pgbouncer_pools_sv_active', scope)}) / ${poolerServerConnections(env)}`;

/** How long the oldest waiting client has waited for a server connection (seconds), per pod. */
export const poolMaxWaitExpr = (scope: Readonly<Record<string, Matcher>> = { job: JOBS.pooler }) =>
  `max by (namespace, pod) (${sel('cnpg_pgbouncer_pools_maxwait', scope)} + ${sel('cnpg_pgbouncer_pools_maxwait_us', scope)} / 1000000)`;

/**
 * The Poolers' PgBouncer pods (CloudNativePG's exporter on port 9127, job `pgbouncer`), where
 * `database.pooler` is on. With pooling on the app reaches PostgreSQL only through them.
 */
function poolerAlerts(env: EnvConfig): AlertingRule[] {
  const pjob = JOBS.pooler;
  const ns = SEED.namespaces.app;
  const size = poolerServerConnections(env);
  return [
    alert({
      name: 'PgBouncerDown',
      expr: `absent(${sel('cnpg_pgbouncer_up', { job: pjob, namespace: ns })} == 1)`,
      for: '2m',
      severity: 'critical',
      labels: { job: pjob, namespace: ns },
      summary: `No PgBouncer of ${cluster}'s poolers is up`,
      description: `For 2 minutes no PgBouncer pod of the Poolers (${SEED.database.clusterName}-pooler-rw/-ro) has reported a working PgBouncer (cnpg_pgbouncer_up == 1), or the ${pjob} scrape job finds none: the app reaches the database only through them (DB_HOST), so it cannot query at all.`,
    }),
    alert({
      name: 'PgBouncerPoolSaturated',
      expr: `${poolSaturationExpr(env)}
> ${POOL_SATURATION_RATIO}`,
      for: '10m',
      severity: 'warning',
      summary: 'PgBouncer {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its server connections',
      description: `For 10 minutes more than ${POOL_SATURATION_RATIO * 100}% of the ${size} server connections PgBouncer pod {{ $labels.namespace }}/{{ $labels.pod }} may open (database.pooler defaultPoolSize + reservePoolSize, env ${env.name}) have been busy with clients: the next requests wait for a connection (PgBouncerClientsWaiting). Raise database.pooler.defaultPoolSize or instances (within max_connections), or find what holds connections (${env.database.pooler.poolMode} mode).`,
    }),
    alert({
      name: 'PgBouncerClientsWaiting',
      expr: `${poolMaxWaitExpr()}
> ${POOL_MAX_WAIT_SECONDS}`,
      for: '5m',
      severity: 'warning',
      summary: 'Clients wait {{ $value | humanizeDuration }} for a server connection on PgBouncer {{ $labels.pod }}',
      description: `For 5 minutes the oldest client of PgBouncer pod {{ $labels.namespace }}/{{ $labels.pod }} has waited more than ${POOL_MAX_WAIT_SECONDS}s for a server connection: every pooled connection is busy, requests queue in PgBouncer (and fail after query_wait_timeout, ${env.database.pooler.queryWaitTimeoutSeconds}s). See PgBouncerPoolSaturated; the database may also be slow to answer.`,
    }),
  ];
}
