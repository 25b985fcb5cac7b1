/**
 * @bitpin/dashboards: typed Grafana dashboards and Prometheus alert rules, generated as code.
 *
 * - `buildDashboards(env)`: the dashboard JSON files Grafana provisions.
 * - `buildRuleFiles(env)`: the Prometheus rule files (alerts and recording rules).
 * - The typed rule builder (`alert`, `record`, `ruleGroup`, `ruleFile`) and its types.
 */
export { buildDashboards, type GrafanaDashboard } from './grafana/index.js';
export { DASHBOARDS, PLATFORM_TAG, type DashboardKey } from './grafana/catalog.js';
export { PROMETHEUS_VAR, LOKI_VAR, VICTORIALOGS_VAR } from './grafana/common.js';
export { VictoriaLogsQueryBuilder, VictoriaLogsQueryType, victoriaLogsFieldVariable, type VictoriaLogsDataquery, type VictoriaLogsVariableQuery } from './grafana/victorialogs.js';
export { buildRuleFiles } from './prometheus/index.js';
export * from './prometheus/builder.js';
export { JOBS, TARGET_LABELS, CADVISOR, PLATFORM_NAMESPACES } from './promql.js';
export { APP_AVAILABILITY_SLO, APP_LATENCY_SLO, APP_MIN_REQUEST_RATE, BURN_RATE_WINDOWS, type AvailabilitySlo, type LatencySlo } from './slo.js';
export { BACKUP_OBJECTIVES } from './prometheus/backups.js';
export { ABSENT_JOBS, VICTORIALOGS_ABSENT_JOB, absentJobs, type AbsentJob } from './prometheus/scrape.js';
export { writeGenerated, type GenerateResult } from './generate-files.js';
