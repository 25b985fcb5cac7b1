import type { EnvConfig } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { promQuery, thresholds, timeseriesPanel, upperThresholds } from '../common.js';
import { cnpg, rate } from './selectors.js';

/** Connections and transactions. */
export function activityPanels(env: EnvConfig) {
  const max = env.database.maxConnections;
  return [
    timeseriesPanel(
      { title: 'Backends by state', description: 'Connections per state, all instances.', unit: units.Short, stacked: true },
      promQuery(`sum by (state) (${cnpg('cnpg_backends_total')})`, '{{state}}'),
    ),
    timeseriesPanel(
      {
        title: 'Connections vs max_connections',
        description: `Backends per instance and the live max_connections (env ${env.name}: ${max}).`,
        unit: units.Short,
        min: 0,
        thresholds: thresholds([null, 'green'], [0.8 * max, 'orange'], [max, 'red']),
      },
      promQuery(`sum by (pod) (${cnpg('cnpg_backends_total')})`, '{{pod}}'),
      promQuery(`max(${cnpg('cnpg_pg_settings_setting', { name: 'max_connections' })})`, 'max_connections'),
    ),
    timeseriesPanel(
      { title: 'Transactions per second', description: 'Commits and rollbacks per second, all databases of the selected instances.', unit: units.OpsPerSecond },
      promQuery(`sum(${rate(cnpg('cnpg_pg_stat_database_xact_commit'))})`, 'commits'),
      promQuery(`sum(${rate(cnpg('cnpg_pg_stat_database_xact_rollback'))})`, 'rollbacks'),
    ),
    timeseriesPanel(
      { title: 'Longest transaction', description: 'Age of the oldest open transaction per instance.', unit: units.Seconds, thresholds: upperThresholds(60, 300) },
      promQuery(`max by (pod) (${cnpg('cnpg_backends_max_tx_duration_seconds')})`, '{{pod}}'),
    ),
    timeseriesPanel(
      { title: 'Lock waits and deadlocks', description: 'Backends waiting on locks, and deadlocks per second.', unit: units.Short, min: 0 },
      promQuery(`sum by (pod) (${cnpg('cnpg_backends_waiting_total')})`, 'waiting {{pod}}'),
      promQuery(`sum by (pod) (${rate(cnpg('cnpg_pg_stat_database_deadlocks'))})`, 'deadlocks/s {{pod}}'),
    ),
  ];
}
