import { SEED, parseDuration, type EnvConfig } from '@bitpin/config';
import { SIDECAR_PATHS } from '@bitpin/metrics-contract';
import { MONITORING, SERVICE_ACCOUNT_DIR } from './names.js';

/*
 * prometheus.yml as data. Every field used here is understood by Prometheus 2.42 (Debian's
 * promtool) and 3.5 (the deployed image); nothing 3.x-only (fallback_scrape_protocol,
 * metric_name_validation_scheme, …) and nothing 3.x removed (alertmanager api_version v1).
 */

export interface RelabelConfig {
  readonly source_labels?: readonly string[];
  readonly separator?: string;
  readonly regex?: string;
  readonly target_label?: string;
  readonly replacement?: string;
  readonly action?: 'replace' | 'keep' | 'drop' | 'labelmap' | 'labeldrop' | 'labelkeep';
}

export interface KubernetesSdConfig {
  readonly role: 'node' | 'pod' | 'service' | 'endpointslice';
  readonly namespaces?: { readonly names: readonly string[] };
}

export interface TlsConfig {
  readonly ca_file?: string;
  readonly server_name?: string;
  readonly insecure_skip_verify?: boolean;
}

export interface ScrapeConfig {
  readonly job_name: string;
  readonly honor_labels?: boolean;
  readonly honor_timestamps?: boolean;
  readonly scheme?: 'http' | 'https';
  readonly metrics_path?: string;
  readonly authorization?: { readonly credentials_file: string };
  readonly tls_config?: TlsConfig;
  readonly kubernetes_sd_configs?: readonly KubernetesSdConfig[];
  readonly static_configs?: readonly { readonly targets: readonly string[]; readonly labels?: Record<string, string> }[];
  readonly relabel_configs?: readonly RelabelConfig[];
  readonly metric_relabel_configs?: readonly RelabelConfig[];
}

export interface AlertmanagerTarget {
  readonly api_version: 'v2';
  readonly scheme?: 'http';
  readonly timeout?: string;
  readonly kubernetes_sd_configs?: readonly KubernetesSdConfig[];
  readonly static_configs?: readonly { readonly targets: readonly string[] }[];
  readonly relabel_configs?: readonly RelabelConfig[];
}

export interface PrometheusConfig {
  readonly global: {
    readonly scrape_interval: string;
    readonly scrape_timeout: string;
    readonly evaluation_interval: string;
    readonly external_labels: Record<string, string>;
  };
  readonly rule_files: readonly string[];
  readonly alerting: { readonly alertmanagers: readonly AlertmanagerTarget[] };
  readonly scrape_configs: readonly ScrapeConfig[];
}

export interface PrometheusConfigOptions {
  /**
   * Directory the rule files are mounted in; every `*.yaml` / `*.yml` there is loaded (a glob,
   * so adding a rule file needs no change here).
   * @default '/etc/prometheus/rules' (the `prometheus-rules` ConfigMap)
   */
  readonly rulesDir?: string;
  /**
   * Skip verification of the kubelets' serving certificates. Most clusters (kubeadm, kind, k3s)
   * give kubelets self-signed serving certificates that no CA in the pod can verify; the bearer
   * token still authenticates Prometheus and the kubelet authorises it (`nodes/metrics`). Set to
   * false on clusters with `serverTLSBootstrap` (kubelet certificates signed by the cluster CA).
   * @default true
   */
  readonly kubeletInsecureSkipVerify?: boolean;
  /**
   * Where the pod's service-account token and cluster CA are (the tests point it at a temporary
   * directory so `promtool check config` can also check the files exist).
   * @default '/var/run/secrets/kubernetes.io/serviceaccount'
   */
  readonly serviceAccountDir?: string;
}

/** The scrape job names, as the alert rules and dashboards select them (`SEED.monitoring.jobs`). */
export const JOBS = SEED.monitoring.jobs;

/** Prometheus's relabel name for a Kubernetes pod label (`cnpg.io/cluster` → `…_cnpg_io_cluster`). */
export function podLabelMeta(label: string): string {
  return `__meta_kubernetes_pod_label_${label.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

const NAME_LABEL = 'app.kubernetes.io/name';
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface PodJob {
  readonly job: string;
  readonly namespaces: readonly string[];
  /** Pod label → the value it must have. */
  readonly selector: Readonly<Record<string, string>>;
  /** Container port name (a regex of names) or number to scrape. */
  readonly port: { readonly name: string } | { readonly number: number };
  readonly metricsPath?: string;
  /**
   * `standard` adds namespace/pod/container/node from the target; `exporter-of-objects` adds none
   * (kube-state-metrics: its series carry the namespace and pod of the object they describe, and
   * honor_labels keeps them).
   */
  readonly targetLabels?: 'standard' | 'exporter-of-objects' | 'node-instance';
}

/** Kubernetes pod discovery narrowed to a selector and one named (or numbered) port. */
function podJob(j: PodJob): ScrapeConfig {
  const keep: RelabelConfig[] = Object.entries(j.selector).map(([label, value]) => ({
    source_labels: [podLabelMeta(label)],
    regex: escapeRegex(value),
    action: 'keep',
  }));
  const port: RelabelConfig =
    'name' in j.port
      ? { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: j.port.name, action: 'keep' }
      : { source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: String(j.port.number), action: 'keep' };
  const labels = j.targetLabels ?? 'standard';
  const standard: RelabelConfig[] = [
    { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
    { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
    { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
  ];
  return {
    job_name: j.job,
    ...(labels === 'exporter-of-objects' ? { honor_labels: true } : {}),
    ...(j.metricsPath ? { metrics_path: j.metricsPath } : {}),
    kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: [...j.namespaces] } }],
    relabel_configs: [
      ...keep,
      port,
      // Completed and failed pods keep their IPs in the API for a while; never scrape them.
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Succeeded|Failed', action: 'drop' },
      ...(labels === 'exporter-of-objects' ? [] : standard),
      // node-exporter runs on the host network: name the instance after the node, as the node
      // mixin's dashboards expect.
      ...(labels === 'node-instance' ? [{ source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'instance' }] : []),
    ],
  };
}

function kubeletJob(job: string, metricsPath: string, insecure: boolean, saDir: string): ScrapeConfig {
  return {
    job_name: job,
    // cAdvisor and kubelet series carry namespace/pod/container of the workload they describe.
    honor_labels: true,
    // cAdvisor's own timestamps make series go stale between scrapes (kube-prometheus does the same).
    ...(metricsPath === '/metrics/cadvisor' ? { honor_timestamps: false } : {}),
    scheme: 'https',
    metrics_path: metricsPath,
    // The in-cluster service-account credentials Prometheus presents to the kubelets.
    authorization: { credentials_file: `${saDir}/token` },
    tls_config: { ca_file: `${saDir}/ca.crt`, ...(insecure ? { insecure_skip_verify: true } : {}) },
    kubernetes_sd_configs: [{ role: 'node' }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_node_name'], target_label: 'node' },
      // The mixin tells kubelet and cAdvisor series apart by `metrics_path`; both are job="kubelet".
      { source_labels: ['__metrics_path__'], target_label: 'metrics_path' },
      { target_label: 'job', replacement: JOBS.kubelet },
    ],
    ...(metricsPath === '/metrics/cadvisor'
      ? {
          metric_relabel_configs: [
            // Always-zero or unused cAdvisor series: pure cardinality.
            {
              source_labels: ['__name__'],
              regex: 'container_(tasks_state|cpu_load_average_10s|network_tcp_usage_total|network_udp_usage_total)',
              action: 'drop',
            },
          ],
        }
      : {}),
  };
}

/** `scrape_timeout` may not exceed `scrape_interval`; Prometheus's own default is 10s. */
function scrapeTimeout(interval: string): string {
  const seconds = parseDuration(interval) ?? 10;
  return seconds < 10 ? interval : '10s';
}

/**
 * The generated prometheus.yml. Job names are {@link JOBS} (the names the kubernetes-mixin rules
 * expect: `apiserver`, `kubelet` with `metrics_path` `/metrics` and `/metrics/cadvisor`,
 * `node-exporter`, `kube-state-metrics`) plus the platform's own (`bitpin-app`, `cnpg`, `pgbouncer` with `database.pooler`, `redis` with `cache.enabled`, `loki`,
 * `log-agent`, `alertmanager`, `grafana`, `prometheus`). Discovery is Kubernetes service
 * discovery everywhere; alerts go to every Alertmanager pod (each must see every alert).
 */
export function prometheusConfig(env: EnvConfig, options: PrometheusConfigOptions = {}): PrometheusConfig {
  const cfg = env.monitoring.prometheus;
  const rulesDir = options.rulesDir ?? MONITORING.prometheus.rulesDir;
  const insecureKubelet = options.kubeletInsecureSkipVerify ?? true;
  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const ns = SEED.namespaces;
  const byName = (name: string) => ({ [NAME_LABEL]: name });

  const scrapeConfigs: ScrapeConfig[] = [
    {
      job_name: JOBS.apiserver,
      scheme: 'https',
      authorization: { credentials_file: `${saDir}/token` },
      // The serving certificate names `kubernetes` (and kubernetes.default.svc…), not the endpoint IP.
      tls_config: { ca_file: `${saDir}/ca.crt`, server_name: 'kubernetes' },
      kubernetes_sd_configs: [{ role: 'endpointslice', namespaces: { names: ['default'] } }],
      relabel_configs: [
        {
          source_labels: ['__meta_kubernetes_service_name', '__meta_kubernetes_endpointslice_port_name'],
          regex: 'kubernetes;https',
          action: 'keep',
        },
      ],
    },
    kubeletJob(JOBS.kubelet, '/metrics', insecureKubelet, saDir),
    // A second scrape config (job_name must be unique in the file) relabelled to job="kubelet".
    kubeletJob(`${JOBS.cadvisor}-cadvisor`, '/metrics/cadvisor', insecureKubelet, saDir),
    podJob({
      job: JOBS.nodeExporter,
      namespaces: [ns.monitoring],
      selector: byName(MONITORING.nodeExporter.name),
      port: { name: 'metrics' },
      targetLabels: 'node-instance',
    }),
    podJob({
      job: JOBS.kubeStateMetrics,
      namespaces: [ns.monitoring],
      selector: byName(MONITORING.kubeStateMetrics.name),
      port: { name: 'http-metrics|telemetry' },
      targetLabels: 'exporter-of-objects',
    }),
    podJob({
      job: JOBS.app,
      namespaces: [ns.app],
      selector: { app: SEED.app.name },
      port: { name: 'metrics' },
      metricsPath: SIDECAR_PATHS.metrics,
    }),
    podJob({
      job: JOBS.database,
      namespaces: [ns.app],
      // The instances only: a Pooler's PgBouncer pods carry cnpg.io/cluster and a `metrics` port too.
      selector: { 'cnpg.io/cluster': SEED.database.clusterName, 'cnpg.io/podRole': 'instance' },
      port: { name: 'metrics' },
    }),
    // The PgBouncer pods of the CloudNativePG Poolers (port `metrics`, 9127), where pooling is on.
    ...(env.database.pooler.enabled
      ? [podJob({ job: JOBS.pooler, namespaces: [ns.app], selector: { 'cnpg.io/cluster': SEED.database.clusterName, 'cnpg.io/podRole': 'pooler' }, port: { name: 'metrics' } })]
      : []),
    // The Redis cache's redis_exporter (libs/cache), where the env runs the cache.
    ...(env.cache.enabled
      ? [podJob({ job: JOBS.cache, namespaces: [ns.app], selector: byName(SEED.cache.name), port: { name: 'metrics' } })]
      : []),
    // libs/backup's WAL receiver (its lag), where the env runs it: port `metrics` (9188).
    ...(env.backup.walReceiver.enabled
      ? [podJob({ job: JOBS.walReceiver, namespaces: [ns.app], selector: { 'app.kubernetes.io/name': 'bitpin-backup', 'app.kubernetes.io/instance': SEED.backup.walReceiver.name }, port: { name: 'metrics' } })]
      : []),
    // The log store: Loki, or VictoriaLogs (:9428, /metrics) with logging.backend: victorialogs.
    env.logging.backend === 'victorialogs'
      ? podJob({ job: JOBS.victorialogs, namespaces: [ns.logging], selector: byName('victorialogs'), port: { number: env.logging.victorialogs.port } })
      : podJob({ job: JOBS.loki, namespaces: [ns.logging], selector: byName(SEED.logging.loki.name), port: { number: env.logging.loki.port } }),
    podJob({
      job: JOBS.logAgent,
      namespaces: [ns.logging],
      selector: byName(env.logging.agent),
      port: { name: 'http-metrics' },
    }),
    podJob({
      job: JOBS.alertmanager,
      namespaces: [ns.monitoring],
      selector: byName(MONITORING.alertmanager.name),
      port: { name: 'http' },
    }),
    podJob({
      job: JOBS.grafana,
      // The logging Grafana too, when the env runs one.
      namespaces: env.logging.grafana.separate ? [ns.monitoring, ns.logging] : [ns.monitoring],
      selector: byName(MONITORING.grafana.name),
      port: { name: 'http' },
    }),
    podJob({
      job: JOBS.prometheus,
      namespaces: [ns.monitoring],
      selector: byName(MONITORING.prometheus.name),
      port: { name: 'http' },
    }),
  ];

  const alertmanagers = podJob({
    job: 'alertmanagers',
    namespaces: [ns.monitoring],
    selector: byName(MONITORING.alertmanager.name),
    port: { name: 'http' },
    targetLabels: 'exporter-of-objects',
  });

  return {
    global: {
      scrape_interval: cfg.scrapeInterval,
      scrape_timeout: scrapeTimeout(cfg.scrapeInterval),
      evaluation_interval: cfg.evaluationInterval,
      // Attached to alerts (and any remote write): notifications say which env fired.
      external_labels: { env: env.name },
    },
    rule_files: [`${rulesDir}/*.yaml`, `${rulesDir}/*.yml`],
    alerting: {
      alertmanagers: [
        {
          api_version: 'v2',
          timeout: '10s',
          kubernetes_sd_configs: alertmanagers.kubernetes_sd_configs,
          relabel_configs: alertmanagers.relabel_configs,
        },
      ],
    },
    scrape_configs: scrapeConfigs,
  };
}
