import { SEED } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { JOBS, re, sel } from '../../promql.js';
import { CNPG_PVC_PATTERN } from '../../prometheus/database.js';
import { promQuery, timeseriesPanel, upperThresholds } from '../common.js';
import { varMatch } from '../common.js';
import { cnpg, rate } from './selectors.js';

/** WAL archiving, database size, XID age and volumes. */
export function storagePanels() {
  const pvc = { job: JOBS.kubelet, namespace: varMatch('namespace'), persistentvolumeclaim: re(CNPG_PVC_PATTERN) };
  return [
    timeseriesPanel(
      { title: 'WAL archiving', description: 'Segments archived and failed archive attempts per second (archive_command).', unit: units.OpsPerSecond, min: 0 },
      promQuery(`sum(${rate(cnpg('cnpg_pg_stat_archiver_archived_count'))})`, 'archived'),
      promQuery(`sum(${rate(cnpg('cnpg_pg_stat_archiver_failed_count'))})`, 'failed'),
    ),
    timeseriesPanel(
      { title: 'Seconds since last archival', description: 'Age of the newest archived WAL segment (archive_timeout forces one at least every 5 minutes).', unit: units.Seconds, thresholds: upperThresholds(600, 1800) },
      promQuery(`max by (pod) (${cnpg('cnpg_pg_stat_archiver_seconds_since_last_archival')})`, '{{pod}}'),
    ),
    timeseriesPanel(
      { title: 'Database size', description: 'pg_database_size per database (largest instance).', unit: units.BytesIEC },
      promQuery(`max by (datname) (${cnpg('cnpg_pg_database_size_bytes')})`, '{{datname}}'),
    ),
    timeseriesPanel(
      { title: 'Transaction ID age', description: 'Transactions since the oldest unfrozen XID per database (alert at 300M; writes stop near 2 billion).', unit: units.Short, thresholds: upperThresholds(200_000_000, 300_000_000) },
      promQuery(`max by (datname) (${cnpg('cnpg_pg_database_xid_age')})`, '{{datname}}'),
    ),
    timeseriesPanel(
      { title: `Volumes of ${SEED.database.clusterName}`, description: 'Used share of each data and WAL volume (alert at 80% and 90%).', unit: units.PercentUnit, min: 0, max: 1, thresholds: upperThresholds(0.8, 0.9) },
      promQuery(
        `max by (persistentvolumeclaim) (${sel('kubelet_volume_stats_used_bytes', pvc)})\n/\nmax by (persistentvolumeclaim) (${sel('kubelet_volume_stats_capacity_bytes', pvc)})`,
        '{{persistentvolumeclaim}}',
      ),
    ),
  ];
}
