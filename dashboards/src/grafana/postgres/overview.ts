import type { EnvConfig } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { streamingStandbysExpr } from '../../prometheus/database.js';
import { lowerThresholds, promInstant, statPanel, thresholds, upperThresholds } from '../common.js';
import { cnpg, scope } from './selectors.js';

/** Cluster health at a glance. */
export function overviewPanels(env: EnvConfig) {
  const instances = env.database.instances;
  const standbys = instances - 1;
  return [
    statPanel(
      {
        title: 'Instances up',
        description: `Instances whose exporter reaches PostgreSQL (cnpg_collector_up). Env ${env.name} runs ${instances}.`,
        unit: units.Short,
        thresholds: lowerThresholds(instances - 1 || 1, instances),
      },
      promInstant(`sum(${cnpg('cnpg_collector_up')})`),
    ),
    statPanel(
      { title: 'Primary', description: 'The instance that is not in recovery.', unit: units.NoUnit, showName: true, mappings: [{ value: 0, text: 'primary', color: 'green' }] },
      promInstant(`${cnpg('cnpg_pg_replication_in_recovery')} == 0`, '{{pod}}'),
    ),
    statPanel(
      {
        title: 'Streaming standbys',
        description: `Standbys streaming from the primary as streaming_replica (the backup's pg_receivewal is not counted). Expected: ${standbys}.`,
        unit: units.Short,
        thresholds: standbys >= 1 ? lowerThresholds(1, standbys) : thresholds([null, 'green']),
      },
      promInstant(`sum(${streamingStandbysExpr({ job: scope.job, namespace: scope.namespace })})`),
    ),
    statPanel(
      { title: 'Max replication lag', description: 'Worst standby replay lag (alert at 30s).', unit: units.Seconds, thresholds: upperThresholds(10, 30) },
      promInstant(`max(${cnpg('cnpg_pg_replication_lag')})`),
    ),
    statPanel(
      {
        title: 'Connections used',
        description: `Backends / max_connections on the busiest instance (env ${env.name} sets ${env.database.maxConnections}; alert at 80%).`,
        unit: units.PercentUnit,
        thresholds: upperThresholds(0.7, 0.8),
      },
      promInstant(
        `max(sum by (pod) (${cnpg('cnpg_backends_total')}) / on (pod) max by (pod) (${cnpg('cnpg_pg_settings_setting', { name: 'max_connections' })}))`,
      ),
    ),
    statPanel(
      {
        title: 'WAL archiving',
        description: 'OK when the last archive_command attempt succeeded; FAILING when the last failure is newer than the last success.',
        unit: units.NoUnit,
        mappings: [
          { value: 0, text: 'OK', color: 'green' },
          { value: 1, text: 'FAILING', color: 'red' },
        ],
        thresholds: upperThresholds(1, 1),
      },
      promInstant(
        `max(${cnpg('cnpg_pg_stat_archiver_last_failed_time')} > bool on (namespace, pod) ${cnpg('cnpg_pg_stat_archiver_last_archived_time')})`,
      ),
    ),
  ];
}
