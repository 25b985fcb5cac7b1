import { SEED, type EnvConfig } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { logsPanel, upperThresholds, victoriaLogsDs, victoriaLogsTimeseriesPanel } from '../common.js';
import { VictoriaLogsQueryBuilder, VictoriaLogsQueryType, victoriaLogsFieldVariable } from '../victorialogs.js';
import { ERROR_LEVELS, PG_ERROR_SEVERITIES } from './levels.js';

/*
 * The Logs dashboard's log panels in LogsQL, for `logging.backend: victorialogs`: the same four
 * panels as the LogQL ones (volume, error lines, error share by app; the newest error lines), on
 * the fields the env's agent gives a log entry in VictoriaLogs (SEED.logging.logFields).
 */

/** The fields of a log entry in VictoriaLogs for the env's agent: vlagent's, or the Loki labels Promtail/Alloy push. */
export function logFields(env: Pick<EnvConfig, 'logging'>): (typeof SEED.logging.logFields)[keyof typeof SEED.logging.logFields] {
  return env.logging.agent === 'vlagent' ? SEED.logging.logFields.vlagent : SEED.logging.logFields.lokiPush;
}

/**
 * The stream filter of the selected namespaces and pods. Both are stream fields (vlagent's
 * `-kubernetesCollector.streamFields`; every label of a Loki push), so VictoriaLogs reads only
 * their streams. The plugin turns a multi-value selection after `=~` into `"(a|b)"`; "All" is `.*`.
 */
export const logStream = (env: Pick<EnvConfig, 'logging'>): string => {
  const f = logFields(env);
  return `{${f.namespace}=~"$namespace", ${f.pod}=~"$pod"}`;
};

const LEVEL_WORDS = ['trace', 'debug', 'info', 'notice', 'warn', 'warning', ...ERROR_LEVELS].join('|');
/** An error level, the whole value, any case (backticks: a raw LogsQL string). */
const ERROR_LEVEL_RE = `\`(?i)^(${ERROR_LEVELS.join('|')})$\``;

/**
 * The level of a line that is not JSON, from `_msg`, into the field `msg_level` — the places the
 * LogQL parser reads (logfmt `level=`, gunicorn's `[time] [pid] [LEVEL]`, Python logging's leading
 * level, and a JSON `"level":` left in the text), leftmost first and only a level word, so a
 * message that contains "error" is not a level. JSON lines need none of it: vlagent (and
 * VictoriaLogs' Loki push) turn their keys into fields, so `level` is already a field.
 */
export const LOGSQL_LEVEL_EXTRACT = String.raw`| extract_regexp ${'`'}(?i)(?:"(?:level|levelname|severity)"\s*:\s*"|\blevel="?|^\[[^\]]*\] \[\d+\] \[|^)(?P<msg_level>${LEVEL_WORDS})\b${'`'} from _msg`;

/**
 * An entry is an error when its level field (`level`, `levelname` or `severity`: pino, zap, slog,
 * CloudNativePG) is an error level; or, when it has none of them, the level parsed from `_msg`
 * is; or it is a CloudNativePG PostgreSQL record of severity ERROR, FATAL or PANIC
 * (`record.error_severity`, flattened from the JSON). A lower-level line that mentions "error" is
 * not one. (`level:""` matches a missing field.)
 */
export const LOGSQL_ERROR_CONDITION = [
  `level:~${ERROR_LEVEL_RE}`,
  `levelname:~${ERROR_LEVEL_RE}`,
  `severity:~${ERROR_LEVEL_RE}`,
  `(level:"" levelname:"" severity:"" msg_level:~${ERROR_LEVEL_RE})`,
  `record.error_severity:in(${PG_ERROR_SEVERITIES.join(', ')})`,
].join(' OR ');

/** The error entries: the level extracted, then the condition as a filter pipe. */
export const LOGSQL_ERROR_FILTER = `${LOGSQL_LEVEL_EXTRACT} | filter ${LOGSQL_ERROR_CONDITION}`;

function statsRange(expr: string, legend: string): VictoriaLogsQueryBuilder {
  return new VictoriaLogsQueryBuilder().datasource(victoriaLogsDs).expr(expr).queryType(VictoriaLogsQueryType.StatsRange).legendFormat(legend);
}

/** The log-volume row in LogsQL (a series per app; `rate()` is per second over each step). */
export function logsqlVolumePanels(env: EnvConfig) {
  const stream = logStream(env);
  const app = logFields(env).app;
  return [
    victoriaLogsTimeseriesPanel(
      { title: 'Log volume by app', description: `Log lines per second by app (field ${app}).`, unit: units.CountsPerSecond, stacked: true },
      statsRange(`${stream} | stats by (${app}) rate() as lines`, `{{${app}}}`),
    ),
    victoriaLogsTimeseriesPanel(
      { title: 'Error lines by app', description: 'Lines per second whose level is error, critical, fatal or panic (PostgreSQL: ERROR, FATAL, PANIC), by app. A lower-level line that mentions "error" is not counted.', unit: units.CountsPerSecond, stacked: true },
      statsRange(`${stream} ${LOGSQL_ERROR_FILTER} | stats by (${app}) rate() as errors`, `{{${app}}}`),
    ),
    victoriaLogsTimeseriesPanel(
      { title: 'Error share by app', description: 'Error lines as a share of all lines, by app.', unit: units.PercentUnit, min: 0, thresholds: upperThresholds(0.01, 0.05) },
      statsRange(
        `${stream} ${LOGSQL_LEVEL_EXTRACT} | stats by (${app}) count() if (${LOGSQL_ERROR_CONDITION}) as errors, count() as lines | math errors / lines as share | fields ${app}, share`,
        `{{${app}}}`,
      ),
    ),
  ];
}

/** The newest error lines (an instant query: `/select/logsql/query`). */
export function logsqlRecentErrorsPanel(env: EnvConfig) {
  return logsPanel(
    { title: 'Recent error lines', description: 'Newest lines whose level is an error level (`msg_level` in the line details when it was parsed from the text), all selected pods.' },
    new VictoriaLogsQueryBuilder()
      .datasource(victoriaLogsDs)
      .expr(`${logStream(env)} ${LOGSQL_ERROR_FILTER} | sort by (_time) desc`)
      .queryType(VictoriaLogsQueryType.Instant)
      .maxLines(500),
    victoriaLogsDs,
  );
}

/** The namespace and pod variables, from the entries' own fields (`/select/logsql/field_values`). */
export function logsqlVariables(env: EnvConfig) {
  const f = logFields(env);
  return [
    victoriaLogsFieldVariable('namespace', 'Namespace', f.namespace, victoriaLogsDs),
    victoriaLogsFieldVariable('pod', 'Pod', f.pod, victoriaLogsDs, `{${f.namespace}=~"$namespace"}`),
  ];
}
