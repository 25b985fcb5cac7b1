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
  victoriaLogsDatasourceVariable,
} from '../common.js';
import { ERROR_LEVELS, PG_ERROR_SEVERITIES } from './levels.js';
import { logsqlRecentErrorsPanel, logsqlVariables, logsqlVolumePanels } from './logsql.js';
import { victoriaLogsPanels } from './victorialogs-row.js';

export { ERROR_LEVELS, PG_ERROR_SEVERITIES } from './levels.js';
export { LOGSQL_ERROR_CONDITION, LOGSQL_ERROR_FILTER, LOGSQL_LEVEL_EXTRACT, logFields, logStream } from './logsql.js';
export { VICTORIALOGS_VOLUME_USED } from './victorialogs-row.js';

/** Log streams of the selected namespaces and pods (labels from libs/logging's relabel table). */
export const LOG_STREAM = '{namespace=~"$namespace", pod=~"$pod"}';
/** LogQL raw strings (backticks) keep regex backslashes as they are. */
const BT = '`';
const LEVEL_WORDS = ['trace', 'debug', 'info', 'notice', 'warn', 'warning', ...ERROR_LEVELS].join('|');

/**
 * Parses the line's level into the label `level`. The log agent (libs/logging: Promtail or Alloy,
 * CRI stage only) attaches no level label, so the level comes from the line, from the place each
 * log format of the platform keeps it, never from the message text:
 * - JSON `"level":"error"` (the metrics sidecar's pino, CloudNativePG, Grafana/zap), `"levelname"`, `"severity"`;
 * - logfmt `level=error` / `level=ERROR` (Loki, Alloy, Promtail, Prometheus, Alertmanager, Grafana);
 * - gunicorn's `[time] [pid] [ERROR]` and Python logging's leading `ERROR:logger:` / `ERROR …` (Django).
 * The leftmost of these wins (the level field comes before the message in all of them), and the
 * level must be a level word, so a message that contains "error" is not a level.
 * kube-state-metrics' klog prefix (`E1206 …`) is not parsed.
 */
export const LEVEL_PARSER = String.raw`| regexp ${BT}(?i)(?:"(?:level|levelname|severity)"\s*:\s*"|\blevel="?|^\[[^\]]*\] \[\d+\] \[|^)(?P<level>${LEVEL_WORDS})\b${BT}`;
/** CloudNativePG's PostgreSQL records: the severity of the record, into `pg_severity`. */
export const PG_SEVERITY_PARSER = String.raw`| regexp ${BT}"error_severity"\s*:\s*"(?P<pg_severity>[A-Z]+)"${BT}`;

/**
 * Error lines: a cheap line filter first (every error level and severity contains one of these
 * words), then the parsed level (or PostgreSQL severity) must be an error level. A line whose
 * message merely mentions "error" at info level is not counted.
 */
export const ERROR_FILTER = [
  '|~ "(?i)(err|crit|fatal|panic)"',
  LEVEL_PARSER,
  PG_SEVERITY_PARSER,
  `| level=~"(?i)(${ERROR_LEVELS.join('|')})" or pg_severity=~"${PG_ERROR_SEVERITIES.join('|')}"`,
].join(' ');
/** Loki refuses a selector that matches the empty string, so "All" is `.+` here, not `.*`. */
const LOKI_ALL = '.+';

function volumePanels() {
  return [
    lokiTimeseriesPanel(
      { title: 'Log volume by app', description: 'Log lines per second by app label.', unit: units.CountsPerSecond, stacked: true },
      lokiQuery(`sum by (app) (rate(${LOG_STREAM} [$__interval]))`, '{{app}}'),
    ),
    lokiTimeseriesPanel(
      { title: 'Error lines by app', description: 'Lines per second whose parsed level is error, critical, fatal or panic (PostgreSQL: ERROR, FATAL, PANIC), by app. A lower-level line that mentions "error" is not counted.', unit: units.CountsPerSecond, stacked: true },
      lokiQuery(`sum by (app) (rate(${LOG_STREAM} ${ERROR_FILTER} [$__interval]))`, '{{app}}'),
    ),
    lokiTimeseriesPanel(
      { title: 'Error share by app', description: 'Error lines as a share of all lines, by app.', unit: units.PercentUnit, min: 0, thresholds: upperThresholds(0.01, 0.05) },
      lokiQuery(`sum by (app) (rate(${LOG_STREAM} ${ERROR_FILTER} [$__interval]))\n/\nsum by (app) (rate(${LOG_STREAM} [$__interval]))`, '{{app}}'),
    ),
  ];
}

function agentPanel(env: EnvConfig) {
  const agent = env.logging.agent;
  const agentSel = (m: string) => sel(m, { job: JOBS.logAgent });
  // vlagent counts blocks (batches of lines) it sent and dropped, Promtail and Alloy entries.
  const what = agent === 'vlagent' ? 'Blocks of lines' : 'Entries';
  return timeseriesPanel(
    { title: `Log agent (${agent}): sent vs dropped`, description: `${what} the agent delivered, and ${what.toLowerCase()} it gave up on after its retries (alert LogAgentDroppingLines).`, unit: units.CountsPerSecond, min: 0 },
    promQuery(`sum(rate(${agentSel(LOG_AGENT_SENT_METRIC[agent])}[$__rate_interval]))`, 'sent'),
    promQuery(`sum by (reason) (rate(${agentSel(LOG_AGENT_DROPPED_METRIC[agent])}[$__rate_interval]))`, 'dropped {{reason}}'),
  );
}

function pipelinePanels(env: EnvConfig) {
  return [
    timeseriesPanel(
      { title: 'Lines received by Loki', description: 'Lines accepted by the Loki distributor per second.', unit: units.CountsPerSecond, min: 0 },
      promQuery(`sum(rate(${sel('loki_distributor_lines_received_total', { job: JOBS.loki })}[$__rate_interval]))`, 'received'),
    ),
    agentPanel(env),
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
  if (env.logging.backend === 'victorialogs') return victoriaLogsDashboard(env);
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
    [logsPanel({ title: 'Recent error lines', description: 'Newest lines whose parsed level is an error level (the `level` label in the line details), all selected pods.' }, lokiQuery(`${LOG_STREAM} ${ERROR_FILTER}`).maxLines(500))],
    24,
    12,
  );
  addRow(b, 'Pipeline health', pipelinePanels(env), 8);
  return b;
}

/**
 * The same dashboard on VictoriaLogs (`logging.backend: victorialogs`): the log panels in LogsQL
 * through the VictoriaLogs data source plugin, on the fields of the env's agent; the pipeline row
 * is the store's metrics (ingested, dropped, disk) and the agent's sent/dropped.
 */
function victoriaLogsDashboard(env: EnvConfig) {
  const b = platformDashboard({
    key: 'logs',
    description: `Logs from VictoriaLogs (shipped by ${env.logging.agent}), queried in LogsQL: volume and error rate by app, the newest error lines, and the pipeline's own health (ingestion, drops, disk). Env ${env.name}.`,
    tags: ['logs', 'victorialogs'],
    from: 'now-1h',
    variables: [victoriaLogsDatasourceVariable(), prometheusDatasourceVariable(), ...logsqlVariables(env)],
  });
  addRow(b, 'Volume and errors', logsqlVolumePanels(env), 8);
  addRow(b, 'Recent errors', [logsqlRecentErrorsPanel(env)], 24, 12);
  const [up, ingested, dropped, used, bytes] = victoriaLogsPanels(env);
  addRow(b, 'VictoriaLogs: ingestion', [up, ingested, dropped], 8);
  addRow(b, 'VictoriaLogs: disk, and the log agent', [used, bytes, agentPanel(env)], 8);
  return b;
}
