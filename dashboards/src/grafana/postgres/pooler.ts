import { SEED, type EnvConfig } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { JOBS, sel, type Matcher } from '../../promql.js';
import { POOL_MAX_WAIT_SECONDS, POOL_SATURATION_RATIO, poolMaxWaitExpr, poolSaturationExpr, poolerServerConnections } from '../../prometheus/database.js';
import { lowerThresholds, promInstant, promQuery, statPanel, thresholds, timeseriesPanel, upperThresholds, varMatch } from '../common.js';

/** The Poolers' PgBouncer pods on this dashboard: the namespace variable, every pooler pod (the pod variable lists instances). */
const scope: Readonly<Record<string, Matcher>> = { job: JOBS.pooler, namespace: varMatch('namespace') };
const pgb = (metric: string) => sel(`cnpg_pgbouncer_${metric}`, scope);

/**
 * Connection pooling (database.pooler): PgBouncer of the Poolers `-pooler-rw` (and `-pooler-ro`),
 * from CloudNativePG's PgBouncer exporter (port 9127, job `pgbouncer`). Rendered only where
 * pooling is on.
 */
export function poolerPanels(env: EnvConfig) {
  const p = env.database.pooler;
  const pods = p.instances * (env.database.readReplicas.enabled ? 2 : 1);
  const size = poolerServerConnections(env);
  return [
    statPanel(
      {
        title: 'PgBouncer up',
        description: `PgBouncer pods whose exporter reaches PgBouncer (cnpg_pgbouncer_up). Env ${env.name} runs ${p.instances} per pooler (${SEED.database.clusterName}-pooler-rw${env.database.readReplicas.enabled ? ' and -ro' : ''}): ${pods}.`,
        unit: units.Short,
        thresholds: lowerThresholds(1, pods),
      },
      promInstant(`sum(${pgb('up')})`),
    ),
    timeseriesPanel(
      {
        title: 'Pool saturation',
        description: `Server connections busy with a client over the ${size} one PgBouncer pod may open (defaultPoolSize ${p.defaultPoolSize} + reservePoolSize ${p.reservePoolSize}), per pod. Alert above ${POOL_SATURATION_RATIO * 100}% for 10m.`,
        unit: units.PercentUnit,
        min: 0,
        max: 1,
        thresholds: upperThresholds(0.75, POOL_SATURATION_RATIO),
      },
      promQuery(poolSaturationExpr(env, scope), '{{pod}}'),
    ),
    timeseriesPanel(
      {
        title: 'Clients waiting for a server connection',
        description: `Clients queued in PgBouncer (cl_waiting) per pod, and how long the oldest has waited. Alert when the wait is above ${POOL_MAX_WAIT_SECONDS}s for 5m; PgBouncer drops a client after query_wait_timeout (${p.queryWaitTimeoutSeconds}s).`,
        unit: units.Short,
        min: 0,
      },
      promQuery(`sum by (pod) (${pgb('pools_cl_waiting')})`, 'waiting {{pod}}'),
      promQuery(poolMaxWaitExpr(scope), 'oldest wait (s) {{pod}}'),
    ),
    timeseriesPanel(
      {
        title: 'PgBouncer connections',
        description: `Client connections (active, waiting; at most max_client_conn ${p.maxClientConn} per pod) and server connections (active, idle, used) per pod, ${p.poolMode} mode.`,
        unit: units.Short,
        min: 0,
        thresholds: thresholds([null, 'green']),
      },
      promQuery(`sum by (pod) (${pgb('pools_cl_active')})`, 'clients active {{pod}}'),
      promQuery(`sum by (pod) (${pgb('pools_sv_active')})`, 'servers active {{pod}}'),
      promQuery(`sum by (pod) (${pgb('pools_sv_idle')} + ${pgb('pools_sv_used')})`, 'servers idle {{pod}}'),
    ),
  ];
}
