import { parseVictoriaLogsBytes, type EnvConfig } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { JOBS, sel } from '../../promql.js';
import { lowerThresholds, promInstant, promQuery, statPanel, thresholds, timeseriesPanel, upperThresholds } from '../common.js';

/*
 * The VictoriaLogs row of the Logs dashboard (`logging.backend: victorialogs`): the store's own
 * metrics (job `victorialogs`), with the names the real victoria-logs v1.52.2 exposes on /metrics
 * (dashboards/test/victorialogs.prometheus.test.ts scrapes one): rows ingested by protocol, rows
 * dropped by reason, data size and free space of -storageDataPath.
 */

const vl = (metric: string) => sel(metric, { job: JOBS.victorialogs });

/** Data on the volume as a share of data + free space: what VictoriaLogsDiskFillingUp evaluates (per pod). */
export const VICTORIALOGS_VOLUME_USED = `sum by (pod) (${vl('vl_data_size_bytes')})
/
(sum by (pod) (${vl('vl_free_disk_space_bytes')}) + sum by (pod) (${vl('vl_data_size_bytes')}))`;

export function victoriaLogsPanels(env: EnvConfig) {
  const cap = parseVictoriaLogsBytes(env.logging.victorialogs.maxDiskSpaceUsage);
  return [
    statPanel(
      { title: 'VictoriaLogs up', description: 'Scraped VictoriaLogs targets that answer (alert VictoriaLogsDown when none does).', unit: units.Short, thresholds: lowerThresholds(1, 1), mappings: [{ value: 0, text: 'down', color: 'red' }] },
      promInstant(`sum(${vl('up')})`, 'up'),
    ),
    timeseriesPanel(
      { title: 'VictoriaLogs rows ingested', description: 'Log entries VictoriaLogs accepted per second, by protocol (nativeinsert = vlagent, loki_json / loki_protobuf = Promtail or Alloy, jsonline, …).', unit: units.CountsPerSecond, min: 0, stacked: true },
      promQuery(`sum by (type) (rate(${vl('vl_rows_ingested_total')}[$__rate_interval]))`, '{{type}}'),
    ),
    timeseriesPanel(
      { title: 'VictoriaLogs rows dropped', description: 'Entries VictoriaLogs dropped per second, by reason (timestamps outside the retention, too many fields) and lines skipped as too long: those lines are lost (alert VictoriaLogsDroppingRows).', unit: units.CountsPerSecond, min: 0 },
      promQuery(`sum by (reason) (rate(${vl('vl_rows_dropped_total')}[$__rate_interval]))`, '{{reason}}'),
      promQuery(`sum(rate(${vl('vl_too_long_lines_skipped_total')}[$__rate_interval]))`, 'too long line (skipped)'),
    ),
    timeseriesPanel(
      { title: 'VictoriaLogs volume used', description: 'Data as a share of data plus free space on the volume, per pod (alert VictoriaLogsDiskFillingUp above 80% for 30m).', unit: units.PercentUnit, min: 0, max: 1, thresholds: upperThresholds(0.8, 0.9) },
      promQuery(VICTORIALOGS_VOLUME_USED, '{{pod}}'),
    ),
    timeseriesPanel(
      {
        title: 'VictoriaLogs data and free space',
        description: `Bytes on the volume: data by part (storage, indexdb) and free space. The red line is -retention.maxDiskSpaceUsageBytes (${env.logging.victorialogs.maxDiskSpaceUsage}): above it VictoriaLogs drops the oldest days.`,
        unit: units.BytesIEC,
        min: 0,
        ...(cap === undefined ? {} : { thresholds: thresholds([null, 'green'], [cap, 'red']), showThresholds: true }),
      },
      promQuery(`sum by (type) (${vl('vl_data_size_bytes')})`, 'data {{type}}'),
      promQuery(`min(${vl('vl_free_disk_space_bytes')})`, 'free'),
    ),
  ] as const;
}
