import type { EnvConfig } from '@bitpin/config';
import { METRICS } from '@bitpin/metrics-contract';
import { JOBS } from '../../promql.js';
import { addRow, platformDashboard, type AnyPanel, prometheusDatasourceVariable, queryVariable } from '../common.js';
import { cachePanels } from './cache.js';
import { latencyPanels } from './latency.js';
import { overviewPanels } from './overview.js';
import { businessPanels, probePanels, saturationPanels } from './sidecar.js';
import { errorPanels, trafficPanels } from './traffic.js';

/** Exchange app golden signals, all from the metrics sidecar (apps/metrics-sidecar). */
export function appDashboard(env: EnvConfig) {
  const job = JOBS.app;
  const b = platformDashboard({
    key: 'app',
    description: `The Bitpin exchange (Django) as its metrics sidecar sees it: rate, errors, latency by route, saturation, probes. Env ${env.name}.`,
    tags: ['app', 'sidecar'],
    variables: [
      prometheusDatasourceVariable(),
      queryVariable('namespace', 'Namespace', `label_values(up{job="${job}"}, namespace)`),
      queryVariable('pod', 'Pod', `label_values(up{job="${job}", namespace=~"$namespace"}, pod)`),
      queryVariable('route', 'Route', `label_values(${METRICS.httpRequests.name}{job="${job}", namespace=~"$namespace"}, route)`),
    ],
  });
  const row = (title: string, panels: AnyPanel[], span: number, height?: number) => addRow(b, title, panels, span, height);
  row('Overview', overviewPanels(), 4, 4);
  row('Traffic', trafficPanels(), 8);
  row('Errors', errorPanels(), 12);
  row('Latency', latencyPanels(), 12);
  row('Saturation and sidecar', saturationPanels(), 8);
  row('Probes', probePanels(), 12);
  row('Business queries', businessPanels(), 8);
  // The Redis cache (libs/cache), where the env runs it.
  if (env.cache.enabled) row('Redis cache', cachePanels(), 8);
  return b;
}
