export { LoggingChart, LOGGING_POD_SECURITY_REASON, loggingScrapeTargets } from './logging-chart.js';
export type { LoggingChartProps, ScrapeTarget } from './logging-chart.js';
export { Loki, LOKI_UID, SCRAPE_JOB_LABEL } from './loki.js';
export type { LokiProps } from './loki.js';
export { VictoriaLogs, VICTORIALOGS_UID } from './victorialogs.js';
export type { VictoriaLogsProps } from './victorialogs.js';
export {
  VICTORIALOGS_DATA_DIR,
  VICTORIALOGS_LOKI_PUSH_PATH,
  VICTORIALOGS_LOKI_PUSH_QUERY,
  VICTORIALOGS_NAME,
  VICTORIALOGS_NATIVE_PATH,
  VICTORIALOGS_QUERY_PATH,
  logPushUrl,
  victoriaLogsArgs,
  victoriaLogsUrl,
} from './victorialogs-config.js';
export type { VictoriaLogsArgsOptions } from './victorialogs-config.js';
export { CONTAINER_LOGS_DIR, VLAGENT_FIELDS, VLAGENT_HOST_LOG_DIRS, VLAGENT_PORT, VLAGENT_STATE_DIR, vlagentArgs } from './vlagent-config.js';
export type { VlagentArgsOptions } from './vlagent-config.js';
export {
  GRAFANA_PLUGINS_DIR,
  VICTORIALOGS_DATASOURCE_UID,
  VICTORIALOGS_PLUGIN_ID,
  VICTORIALOGS_PLUGIN_IMAGE_DIR,
  victoriaLogsDatasource,
} from './grafana-victorialogs.js';
export type { VictoriaLogsDatasourceOptions } from './grafana-victorialogs.js';
export { LogAgent } from './log-agent.js';
export type { LogAgentKind, LogAgentProps } from './log-agent.js';
export { LoggingGrafana, GRAFANA_CONTAINER_PORT } from './logging-grafana.js';
export type { LoggingGrafanaProps } from './logging-grafana.js';
export {
  LOKI_CONFIG_DIR,
  LOKI_CONFIG_FILE,
  LOKI_DATA_DIR,
  LOKI_REMOVED_LIMITS,
  LOKI_SCHEMA_FROM,
  lokiConfig,
  lokiLimits,
  lokiPushUrl,
  lokiUrl,
} from './loki-config.js';
export type { LokiConfig, LokiConfigOptions, LokiLimits } from './loki-config.js';
export {
  PROMTAIL_CONFIG_DIR,
  PROMTAIL_CONFIG_FILE,
  PROMTAIL_POD_JOB,
  PROMTAIL_PORT,
  PROMTAIL_POSITIONS_DIR,
  promtailConfig,
} from './promtail-config.js';
export type { PromtailConfigOptions } from './promtail-config.js';
export { ALLOY_CONFIG_DIR, ALLOY_CONFIG_FILE, ALLOY_PORT, ALLOY_STORAGE_DIR, alloyConfig, alloyString } from './alloy-config.js';
export type { AlloyConfigOptions } from './alloy-config.js';
export { POD_LOGS_DIR, POD_LOG_LABELS, podLogRelabelRules, toPromtailRelabel } from './pod-logs.js';
export type { PodLogLabel, RelabelRule } from './pod-logs.js';
// The Grafana pieces both Grafanas share live in @bitpin/k8s; re-exported where this tier's users look.
export { GRAFANA_UID, grafanaDatasourcesFile, lokiDatasource } from '@bitpin/k8s';
export type { GrafanaDatasource, LokiDatasourceOptions } from '@bitpin/k8s';
export { contentHash } from './render.js';
