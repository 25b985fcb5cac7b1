export { PlatformChart } from './chart.js';
export type { PlatformChartProps } from './chart.js';
export { ENV_LABEL, MANAGED_BY, PART_OF, selectorLabels, standardLabels } from './labels.js';
export type { LabelProps } from './labels.js';
export { restrictedContainerSecurity, restrictedPodSecurity } from './security.js';
export type { ContainerSecurityProps, PodSecurityProps } from './security.js';
export { toResourceRequirements } from './resources.js';
export { httpProbe } from './probes.js';
export type { HttpProbeProps } from './probes.js';
export { PlatformNamespace } from './namespace.js';
export type { PlatformNamespaceProps } from './namespace.js';
export { GENERATE_ANNOTATION, GeneratedSecret } from './generated-secret.js';
export type { GeneratedSecretProps, SecretValueSpec } from './generated-secret.js';
export { EXCEPTION_RULE, MIN_REASON_LENGTH, POLICY_EXCEPTIONS_ANNOTATION, POLICY_RULES, checkPolicies, policyExceptions } from './policy.js';
export type { PolicyOptions, PolicyRuleId, PolicyViolation } from './policy.js';
export {
  CACHE_CLIENT_LABEL,
  DATABASE_CLIENT_LABEL,
  DATABASE_POOLER_CLIENT_LABEL,
  NamespaceNetworkBaseline,
  PodNetworkPolicy,
  apiServerEgress,
  cidrPeers,
  clusterRanges,
  namespacePeer,
  nodesEgress,
  outsideClusterPeers,
  podsPeer,
  prometheusPeer,
  tcpPorts,
} from './network.js';
export type { FlowRule, PodNetworkPolicyProps } from './network.js';
export { allowedFlows, endpointsFromObjects, withPodIps } from './network-flows.js';
export type { Endpoint, EndpointPort, Flow } from './network-flows.js';
export { NamespaceBudget, namespacePeak, quotaFor } from './budget.js';
export type { NamespaceBudgetProps, NamespacePeak, PeakOptions } from './budget.js';
export { PlatformExternalSecret } from './external-secret.js';
export type { PlatformExternalSecretProps } from './external-secret.js';
export { CONFIG_CHECKSUM_ANNOTATION, configChecksum } from './checksum.js';
export { volumeClaimSpec } from './storage.js';
export type { VolumeClaimSpecProps } from './storage.js';
export { GRAFANA_ADMIN_KEYS, GRAFANA_PATHS, GRAFANA_PLUGINS_DIR, GRAFANA_PORT, GRAFANA_UID, PlatformGrafana } from './grafana.js';
export type { GrafanaDashboardFile, GrafanaPluginImage, PlatformGrafanaProps } from './grafana.js';
export {
  grafanaDashboardProviders,
  grafanaDatasourcesFile,
  logStoreDatasource,
  lokiDatasource,
  lokiUrl,
  VICTORIALOGS_PLUGIN_IMAGE_DIR,
  victoriaLogsDatasource,
  victoriaLogsPlugin,
  victoriaLogsUrl,
} from './grafana-provisioning.js';
export type {
  GrafanaDashboardProvider,
  GrafanaDashboardProvidersFile,
  GrafanaDashboardProvidersOptions,
  GrafanaDatasource,
  GrafanaDatasourcesFile,
  LokiDatasourceOptions,
  VictoriaLogsDatasourceOptions,
} from './grafana-provisioning.js';
