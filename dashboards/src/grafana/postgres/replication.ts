import { SEED, type EnvConfig } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { pgSizeBytes } from '../../promql.js';
import { STANDBY_REPLICATION_USER } from '../../prometheus/database.js';
import { promQuery, thresholds, timeseriesPanel, upperThresholds } from '../common.js';
import { cnpg } from './selectors.js';

/** Replication: lag, standbys and slots. */
export function replicationPanels(env: EnvConfig) {
  const keep = pgSizeBytes(env.database.maxSlotWalKeepSize);
  return [
    timeseriesPanel(
      { title: 'Replication lag by instance', description: 'Seconds since the last replayed transaction while WAL is pending (0 on the primary).', unit: units.Seconds, thresholds: upperThresholds(10, 30) },
      promQuery(`max by (pod) (${cnpg('cnpg_pg_replication_lag')})`, '{{pod}}'),
    ),
    timeseriesPanel(
      { title: 'Replay lag seen by the primary', description: 'pg_stat_replication replay_lag per client (standbys and the backup stream).', unit: units.Seconds },
      promQuery(`max by (usename, application_name) (${cnpg('cnpg_pg_stat_replication_replay_lag_seconds')})`, '{{application_name}} ({{usename}})'),
    ),
    timeseriesPanel(
      { title: 'Standbys streaming', description: `Clients streaming as ${STANDBY_REPLICATION_USER}, as the primary sees them. Expected: ${env.database.instances - 1}.`, unit: units.Short, min: 0 },
      promQuery(`count(${cnpg('cnpg_pg_stat_replication_replay_lag_seconds', { usename: STANDBY_REPLICATION_USER })})`, 'standbys'),
    ),
    timeseriesPanel(
      {
        title: 'WAL retained by replication slots',
        description: `Bytes of WAL each slot holds back. At max_slot_wal_keep_size (${env.database.maxSlotWalKeepSize}) PostgreSQL invalidates the slot; ${SEED.backup.walSlot} feeds the WAL archive.`,
        unit: units.BytesIEC,
        thresholds: thresholds([null, 'green'], [keep / 2, 'orange'], [keep, 'red']),
      },
      promQuery(`max by (slot_name) (${cnpg('cnpg_pg_replication_slots_pg_wal_lsn_diff')})`, '{{slot_name}}'),
    ),
  ];
}
