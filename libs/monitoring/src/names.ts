import { SEED } from '@bitpin/config';

/**
 * Names, ports and paths of the monitoring stack. Object names are contracts (the deployer waits
 * on them, Grafana and Prometheus address each other by Service DNS name, alert rules select on
 * the scrape jobs), so they are fixed here rather than derived.
 */
export const MONITORING = {
  namespace: SEED.namespaces.monitoring,
  prometheus: {
    name: SEED.monitoring.prometheus.name,
    port: SEED.monitoring.prometheus.port,
    configMap: 'prometheus-config',
    rulesConfigMap: 'prometheus-rules',
    configDir: '/etc/prometheus/config',
    rulesDir: '/etc/prometheus/rules',
    dataDir: '/prometheus',
    configFile: 'prometheus.yml',
  },
  alertmanager: {
    name: SEED.monitoring.alertmanager.name,
    port: SEED.monitoring.alertmanager.port,
    clusterPort: 9094,
    /** Headless Service giving each replica a stable DNS name for the gossip mesh. */
    clusterService: 'alertmanager-cluster',
    configMap: 'alertmanager-routing',
    routingDir: '/etc/alertmanager/routing',
    receiversDir: '/etc/alertmanager/receivers',
    configDir: '/etc/alertmanager/config',
    dataDir: '/alertmanager',
    routingFile: 'routing.yml',
    scriptFile: 'assemble.sh',
    /** The key of the operator's receivers Secret (`env.monitoring.alertmanager.receiversSecret`). */
    receiversKey: 'receivers.yaml',
    configFile: 'alertmanager.yml',
  },
  grafana: {
    name: SEED.monitoring.grafana.name,
    /** Prefix of the one-ConfigMap-per-dashboard objects (`grafana-dashboard-<uid>`). The rest (ConfigMaps, Secret, paths) is PlatformGrafana's, in @bitpin/k8s. */
    dashboardConfigMapPrefix: 'grafana-dashboard-',
  },
  nodeExporter: { name: SEED.monitoring.nodeExporter.name },
  kubeStateMetrics: {
    name: SEED.monitoring.kubeStateMetrics.name,
    port: SEED.monitoring.kubeStateMetrics.port,
    telemetryPort: SEED.monitoring.kubeStateMetrics.telemetryPort,
  },
  /** The sidecar that reloads Prometheus when its ConfigMaps change. */
  reloader: { name: 'config-reloader', port: 9533 },
  /** UID of `nobody`, the user of the Prometheus, Alertmanager, node-exporter and kube-state-metrics images. */
  nobody: 65534,
} as const;

/** In-cluster DNS name of a Service. */
export function serviceHost(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

/** Where the pods' service-account token and cluster CA are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
