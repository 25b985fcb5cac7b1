import { SEED, type EnvConfig } from '@bitpin/config';
import { JOBS } from '../../promql.js';
import { addRow, platformDashboard, prometheusDatasourceVariable, queryVariable } from '../common.js';
import { activityPanels } from './activity.js';
import { overviewPanels } from './overview.js';
import { poolerPanels } from './pooler.js';
import { replicationPanels } from './replication.js';
import { storagePanels } from './storage.js';

/** CloudNativePG cluster bitpin-cluster, from its instance exporters (port 9187). */
export function postgresDashboard(env: EnvConfig) {
  const job = JOBS.database;
  const b = platformDashboard({
    key: 'postgres',
    description: `CloudNativePG cluster ${SEED.database.clusterName} (${env.database.instances} instances in env ${env.name}): availability, replication, connections, WAL archiving, size and XID age.`,
    tags: ['database', 'cloudnative-pg'],
    variables: [
      prometheusDatasourceVariable(),
      queryVariable('namespace', 'Namespace', `label_values(cnpg_collector_up{job="${job}"}, namespace)`),
      queryVariable('pod', 'Instance', `label_values(cnpg_collector_up{job="${job}", namespace=~"$namespace"}, pod)`),
    ],
  });
  addRow(b, 'Overview', overviewPanels(env), 4, 4);
  addRow(b, 'Replication', replicationPanels(env), 12);
  addRow(b, 'Connections and transactions', activityPanels(env), 12);
  addRow(b, 'WAL, size and volumes', storagePanels(), 12);
  if (env.database.pooler.enabled) addRow(b, 'Connection pooling (PgBouncer)', poolerPanels(env), 6);
  return b;
}
