import type { EnvConfig } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { JOBS, re, sel } from '../../promql.js';
import { LOG_AGENT_DROPPED_METRIC, LOG_AGENT_SENT_METRIC } from '../../prometheus/logging.js';
import {
  addRow,
  logsPanel,
  lokiDatasourceVariable,
  lokiDs,
  lokiQuery,
  lokiTimeseriesPanel,
  platformDashboard,
  prometheusDatasourceVariable,
  promQuery,
  queryVariable,
  timeseriesPanel,
  upperThresholds,
} from '../common.js';

/** Log streams of the selected namespaces and pods (labels from libs/logging's relabel table). */
export const LOG_STREAM = '{namespace=~"$namespace", pod=~"$pod"}';
/** Lines that look like errors: Python tracebacks, Django/gunicorn error levels, Go/JSON level fields. */
export const ERROR_FILTER = '|~ "(?i)(error|exception|traceback|critical|fatal|panic)"';
/** Loki refuses a selector that matches the empty string, so "All" is `.+` here, not `.*`. */
const LOKI_ALL = '.+';

function volumePanels() {
  return [
    lokiTimeseriesPanel(
      { title: 'Log volume by app', description: 'Log lines per second by app label.', unit: units.CountsPerSecond, stacked: true },
      lokiQuery(`sum by (app) (rate(${LOG_STREAM} [$__interval]))`, '{{app}}'),
    ),
    lokiTimeseriesPanel(
      { title: 'Error lines by app', description: 'Lines matching error/exception/traceback/critical/fatal per second, by app.', unit: units.CountsPerSecond, stacked: true },
      lokiQuery(`sum by (app) (rate(${LOG_STREAM} ${ERROR_FILTER} [$__interval]))`, '{{app}}'),
    ),
    lokiTimeseriesPanel(
      { title: 'Error share by app', description: 'Error lines as a share of all lines, by app.', unit: units.PercentUnit, min: 0, thresholds: upperThresholds(0.01, 0.05) },
      lokiQuery(`sum by (app) (rate(${LOG_STREAM} ${ERROR_FILTER} [$__interval]))\n/\nsum by (app) (rate(${LOG_STREAM} [$__interval]))`, '{{app}}'),
    ),
  ];
}

function pipelinePanels(env: EnvConfig) {
  const agent = env.logging.agent;
  const agentSel = (m: string) => sel(m, { job: JOBS.logAgent });
  return [
    timeseriesPanel(
      { title: 'Lines received by Loki', description: 'Lines accepted by the Loki distributor per second.', unit: units.CountsPerSecond, min: 0 },
      promQuery(`sum(rate(${sel('loki_distributor_lines_received_total', { job: JOBS.loki })}[$__rate_interval]))`, 'received'),
    ),
    timeseriesPanel(
      { title: `Log agent (${agent}): sent vs dropped`, description: 'Entries the agent delivered, and entries it gave up on after its retries (alert LogAgentDroppingLines).', unit: units.CountsPerSecond, min: 0 },
      promQuery(`sum(rate(${agentSel(LOG_AGENT_SENT_METRIC[agent])}[$__rate_interval]))`, 'sent'),
      promQuery(`sum by (reason) (rate(${agentSel(LOG_AGENT_DROPPED_METRIC[agent])}[$__rate_interval]))`, 'dropped {{reason}}'),
    ),
    timeseriesPanel(
      { title: 'Loki 5xx ratio by route', description: 'Share of Loki requests failing per route (alert LokiRequestErrors above 10%).', unit: units.PercentUnit, min: 0, thresholds: upperThresholds(0.05, 0.1) },
      promQuery(
        `sum by (route) (rate(${sel('loki_request_duration_seconds_count', { job: JOBS.loki, status_code: re('5..') })}[$__rate_interval]))\n/\nsum by (route) (rate(${sel('loki_request_duration_seconds_count', { job: JOBS.loki })}[$__rate_interval]))`,
        '{{route}}',
      ),
    ),
  ];
}

/** Logs of the platform from Loki (volume, errors, recent error lines) and the health of the log pipeline. */
export function logsDashboard(env: EnvConfig) {
  const b = platformDashboard({
    key: 'logs',
    description: `Logs from Loki (shipped by ${env.logging.agent}): volume and error rate by app, the newest error lines, and the pipeline's own health. Env ${env.name}.`,
    tags: ['logs', 'loki'],
    from: 'now-1h',
    variables: [
      lokiDatasourceVariable(),
      prometheusDatasourceVariable(),
      queryVariable('namespace', 'Namespace', 'label_values(namespace)', { ds: lokiDs, allValue: LOKI_ALL }),
      queryVariable('pod', 'Pod', 'label_values({namespace=~"$namespace"}, pod)', { ds: lokiDs, allValue: LOKI_ALL }),
    ],
  });
  addRow(b, 'Volume and errors', volumePanels(), 8);
  addRow(
    b,
    'Recent errors',
    [logsPanel({ title: 'Recent error lines', description: 'Newest lines matching the error filter, all selected pods.' }, lokiQuery(`${LOG_STREAM} ${ERROR_FILTER}`).maxLines(500))],
    24,
    12,
  );
  addRow(b, 'Pipeline health', pipelinePanels(env), 8);
  return b;
}
