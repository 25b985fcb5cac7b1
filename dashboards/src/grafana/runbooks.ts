import type { EnvConfig } from '@bitpin/config';
import { alertingRules } from '../prometheus/builder.js';
import { buildRuleFiles } from '../prometheus/index.js';
import type { DashboardKey } from './catalog.js';
import { runbookLink } from './common.js';

/** The panels of one dashboard that an alert watches: panel title (or a pattern) → alert names. */
export interface PanelRunbooks {
  readonly panel: string | RegExp;
  readonly alerts: readonly string[];
  /**
   * Envs whose dashboards have the panel and whose rules have the alerts.
   * @default - every env
   */
  readonly when?: (env: EnvConfig) => boolean;
}

/** The log store's panels and alerts follow `logging.backend` (Loki, or VictoriaLogs). */
const withLoki = (env: EnvConfig) => env.logging.backend === 'loki';
const withVictoriaLogs = (env: EnvConfig) => env.logging.backend === 'victorialogs';

/** Panels and alerts of the poolers (PgBouncer) exist only where the env pools connections. */
const withPooler = (env: EnvConfig) => env.database.pooler.enabled;

/** Panels of the Redis cache (libs/cache) exist only where the env runs it. */
const withCache = (env: EnvConfig) => env.cache.enabled;

/**
 * Which panels each alert watches: every panel listed gets a panel link to each alert's runbook
 * (`docs/runbooks/<alert>.md`). One table, so a reviewer sees every panel → alert pair at once;
 * `dashboards/test/runbook-links.test.ts` checks each pair (the panel queries a metric of the alert)
 * and that every alert of every env is linked from some panel. A title that matches no panel, or
 * a name that is no alert of the env, fails the build.
 */
export const PANEL_RUNBOOKS: Readonly<Record<DashboardKey, readonly PanelRunbooks[]>> = {
  app: [
    { panel: '5xx ratio', alerts: ['BitpinAppHighErrorRate', 'BitpinAppErrorBudgetBurnFast', 'BitpinAppErrorBudgetBurnSlow'] },
    { panel: '5xx ratio by route', alerts: ['BitpinAppHighErrorRate'] },
    { panel: 'Within 0.5s (1h)', alerts: ['BitpinAppLatencyBudgetBurnFast', 'BitpinAppLatencyBudgetBurnSlow'] },
    { panel: 'Latency SLO: share slower than 0.5s', alerts: ['BitpinAppLatencyBudgetBurnFast', 'BitpinAppLatencyBudgetBurnSlow'] },
    { panel: 'Probes', alerts: ['BitpinAppDown', 'BitpinAppDatabaseUnreachable'] },
    { panel: 'Probe status by target', alerts: ['BitpinAppDown', 'BitpinAppDatabaseUnreachable'] },
    { panel: 'Upstream failures by kind', alerts: ['BitpinAppUpstreamFailures'] },
    { panel: 'Route templates vs cap', alerts: ['BitpinAppRouteOverflow'] },
    { panel: 'Redis up', alerts: ['RedisDown'], when: withCache },
    { panel: 'Redis memory', alerts: ['RedisMemoryNearMax'], when: withCache },
    { panel: 'Redis memory of limit', alerts: ['RedisMemoryNearMax'], when: withCache },
    { panel: 'Redis evictions', alerts: ['RedisEvictionsHigh'], when: withCache },
  ],
  postgres: [
    { panel: 'Instances up', alerts: ['CNPGClusterOffline', 'CNPGInstanceDown'] },
    { panel: 'Primary', alerts: ['CNPGNoPrimary'] },
    { panel: 'Streaming standbys', alerts: ['CNPGStreamingReplicasMissing'] },
    { panel: 'Standbys streaming', alerts: ['CNPGStreamingReplicasMissing'] },
    { panel: 'Max replication lag', alerts: ['CNPGReplicationLag'] },
    { panel: 'Replication lag by instance', alerts: ['CNPGReplicationLag'] },
    { panel: 'Connections used', alerts: ['CNPGConnectionsNearMax'] },
    { panel: 'Connections vs max_connections', alerts: ['CNPGConnectionsNearMax'] },
    { panel: 'WAL archiving', alerts: ['CNPGWALArchiveFailing'] },
    { panel: 'Longest transaction', alerts: ['CNPGLongRunningTransaction'] },
    { panel: 'Lock waits and deadlocks', alerts: ['CNPGBackendsWaiting'] },
    { panel: 'Transaction ID age', alerts: ['CNPGXIDAgeHigh'] },
    { panel: 'Volumes of bitpin-cluster', alerts: ['CNPGVolumeFillingUp'] },
    { panel: 'PgBouncer up', alerts: ['PgBouncerDown'], when: withPooler },
    { panel: 'Pool saturation', alerts: ['PgBouncerPoolSaturated'], when: withPooler },
    { panel: 'Clients waiting for a server connection', alerts: ['PgBouncerClientsWaiting'], when: withPooler },
    { panel: 'PgBouncer connections', alerts: ['PgBouncerPoolSaturated'], when: withPooler },
    { panel: 'WAL retained by replication slots', alerts: ['BackupWALSlotRetentionHigh'] },
  ],
  backups: [
    { panel: 'Since last success: bitpin-full-backup', alerts: ['BackupFullTooOld'] },
    { panel: 'Since last success: bitpin-incremental-backup', alerts: ['BackupIncrementalTooOld'] },
    { panel: 'Since last success: bitpin-backup-verify', alerts: ['BackupVerifyTooOld'] },
    { panel: 'Since last success: bitpin-offsite-backup', alerts: ['BackupOffsiteBehind'] },
    { panel: 'Age of last success vs objective', alerts: ['BackupFullTooOld', 'BackupIncrementalTooOld', 'BackupVerifyTooOld'] },
    { panel: 'Failed runs kept', alerts: ['BackupJobFailed'] },
    { panel: 'Backup volume used', alerts: ['BackupVolumeFillingUp'] },
    { panel: 'Backup volume bytes', alerts: ['BackupVolumeFillingUp'] },
    { panel: 'WAL held by slot bitpin_backup', alerts: ['BackupWALSlotRetentionHigh'] },
    { panel: 'WAL receiver streaming', alerts: ['BackupWALReceiverDown'] },
    { panel: 'WAL receiver lag', alerts: ['BackupWALReceiverLagging'] },
  ],
  workloads: [
    { panel: 'Pods not running', alerts: ['KubePodNotReady'] },
    { panel: 'Waiting containers', alerts: ['KubePodCrashLooping'] },
    { panel: 'Deployments short of replicas', alerts: ['KubeDeploymentReplicasMismatch'] },
    { panel: 'Deployments', alerts: ['KubeDeploymentReplicasMismatch', 'KubeDeploymentRolloutStuck'] },
    { panel: 'StatefulSets', alerts: ['KubeStatefulSetReplicasMismatch'] },
    { panel: 'DaemonSets', alerts: ['KubeDaemonSetNotReady'] },
    { panel: 'HPA replicas', alerts: ['KubeHpaMaxedOut'] },
    { panel: 'Volumes above 80%', alerts: ['KubePersistentVolumeFillingUp'] },
    { panel: 'Volume usage', alerts: ['KubePersistentVolumeFillingUp'] },
    { panel: 'ResourceQuota usage', alerts: ['KubeQuotaAlmostFull', 'KubeQuotaFullyUsed', 'KubeQuotaExceeded'] },
    { panel: 'PodDisruptionBudgets', alerts: ['KubePdbNotEnoughHealthyPods', 'KubePdbAtLimit'] },
    { panel: 'Volume inodes used', alerts: ['KubePersistentVolumeInodesFillingUp'] },
  ],
  nodes: [
    { panel: 'Memory utilisation', alerts: ['NodeMemoryHighUtilization'] },
    { panel: 'Filesystem usage', alerts: ['NodeFilesystemSpaceFillingUp', 'NodeFilesystemAlmostOutOfSpace'] },
    { panel: 'Clock offset', alerts: ['NodeClockSkewDetected'] },
    { panel: 'Node Ready', alerts: ['KubeNodeNotReady'] },
    { panel: 'Filesystem inodes used', alerts: ['NodeFilesystemFilesFillingUp', 'NodeFilesystemAlmostOutOfFiles'] },
    { panel: 'Clock synchronised', alerts: ['NodeClockNotSynchronising'] },
  ],
  logs: [
    { panel: /^Log agent \(.+\): sent vs dropped$/, alerts: ['LogAgentDroppingLines'] },
    { panel: 'Loki 5xx ratio by route', alerts: ['LokiRequestErrors'], when: withLoki },
    { panel: 'VictoriaLogs up', alerts: ['VictoriaLogsDown'], when: withVictoriaLogs },
    { panel: 'VictoriaLogs rows dropped', alerts: ['VictoriaLogsDroppingRows'], when: withVictoriaLogs },
    { panel: 'VictoriaLogs volume used', alerts: ['VictoriaLogsDiskFillingUp'], when: withVictoriaLogs },
    { panel: 'VictoriaLogs data and free space', alerts: ['VictoriaLogsDiskFillingUp'], when: withVictoriaLogs },
  ],
  alerts: [
    // Watchdog and the alerting-pipeline panels carry their links in alerts/index.ts.
    { panel: 'Firing now', alerts: ['InfoInhibitor'] },
    {
      panel: 'Scrape jobs: targets up',
      alerts: [
        'TargetDown',
        'BitpinAppMetricsAbsent',
        'BitpinAppSidecarDown',
        'KubeStateMetricsDown',
        'KubeAPIDown',
        'KubeletDown',
        'KubeletCAdvisorDown',
        'NodeExporterDown',
      ],
    },
    // The log store's whole-job alert follows logging.backend (link order kept: store, then agent).
    { panel: 'Scrape jobs: targets up', alerts: ['LokiDown'], when: withLoki },
    { panel: 'Scrape jobs: targets up', alerts: ['VictoriaLogsDown'], when: withVictoriaLogs },
    {
      panel: 'Scrape jobs: targets up',
      alerts: [
        'LogAgentDown',
        'AlertmanagerDown',
        'AlertmanagerClusterDown',
        'GrafanaDown',
        'PrometheusSelfScrapeDown',
      ],
    },
    {
      panel: 'Prometheus health',
      alerts: [
        'PrometheusBadConfig',
        'PrometheusSDRefreshFailure',
        'PrometheusKubernetesListWatchFailures',
        'PrometheusNotConnectedToAlertmanagers',
        'PrometheusNotificationQueueRunningFull',
        'PrometheusMissingRuleEvaluations',
        'PrometheusTSDBCompactionsFailing',
        'PrometheusTSDBReloadsFailing',
      ],
    },
    { panel: 'Alertmanager health', alerts: ['AlertmanagerFailedReload', 'AlertmanagerConfigInconsistent', 'AlertmanagerMembersInconsistent'] },
  ],
};

type PanelJson = Record<string, unknown> & { type?: string; title?: string; links?: unknown[] };

/** Adds the runbook links of {@link PANEL_RUNBOOKS} to a built dashboard's panels (after any links a panel already has). */
export function addRunbookLinks(key: DashboardKey, json: Record<string, unknown>, env: EnvConfig): void {
  const alerts = new Set(alertingRules(buildRuleFiles(env)).map((r) => r.alert));
  const panels = (json['panels'] as PanelJson[]).filter((p) => p.type !== 'row');
  for (const { panel, alerts: names, when } of PANEL_RUNBOOKS[key]) {
    if (when && !when(env)) continue;
    const unknown = names.filter((n) => !alerts.has(n));
    if (unknown.length) throw new Error(`PANEL_RUNBOOKS.${key} '${String(panel)}': ${unknown.join(', ')} is no alert of env ${env.name}`);
    const matching = panels.filter((p) => (typeof panel === 'string' ? p.title === panel : panel.test(p.title ?? '')));
    if (matching.length === 0) throw new Error(`PANEL_RUNBOOKS.${key}: no panel titled '${String(panel)}'`);
    for (const p of matching) {
      const have = new Set((p.links ?? []).map((l) => (l as { url?: string }).url));
      const add = names.map((n) => runbookLink(n).build()).filter((l) => !have.has(l.url));
      p.links = [...(p.links ?? []), ...add];
    }
  }
}
