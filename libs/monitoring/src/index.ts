export { MonitoringChart, MONITORING_POD_SECURITY_REASON } from './monitoring-chart.js';
export type { MonitoringChartProps } from './monitoring-chart.js';
export { Prometheus } from './prometheus.js';
export type { PrometheusProps } from './prometheus.js';
export { Alertmanager } from './alertmanager.js';
export type { AlertmanagerProps } from './alertmanager.js';
export { Grafana } from './grafana.js';
export type { GrafanaProps } from './grafana.js';
export { NodeExporter } from './node-exporter.js';
export type { NodeExporterProps } from './node-exporter.js';
export { KubeStateMetrics, KUBE_STATE_METRICS_RESOURCES } from './kube-state-metrics.js';
export { MonitoringNetworkPolicies } from './network-policies.js';
export type { KubeStateMetricsProps } from './kube-state-metrics.js';
export { JOBS, prometheusConfig, podLabelMeta } from './prometheus-config.js';
export type {
  AlertmanagerTarget,
  KubernetesSdConfig,
  PrometheusConfig,
  PrometheusConfigOptions,
  RelabelConfig,
  ScrapeConfig,
  TlsConfig,
} from './prometheus-config.js';
export {
  ALERTMANAGER_RECEIVERS,
  INHIBIT_EQUAL_LABELS,
  alertmanagerAssembleScript,
  alertmanagerConfig,
  placeholderReceivers,
} from './alertmanager-config.js';
export type { AlertmanagerRoute, AlertmanagerRoutingConfig, AssembleScriptOptions, InhibitRule } from './alertmanager-config.js';
export { datasourceUrls, grafanaDatasources, monitoringDatasources } from './grafana-provisioning.js';
export { CONFIGMAP_DATA_LIMIT } from './inputs.js';
export type { DashboardInput, RuleFileInput } from './inputs.js';
export { CONFIG_CHECKSUM_ANNOTATION } from './common.js';
export { MONITORING, serviceHost } from './names.js';
