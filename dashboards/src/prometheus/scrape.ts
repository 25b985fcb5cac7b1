import { SEED, type EnvConfig } from '@bitpin/config';
import { CADVISOR, JOBS, sel } from '../promql.js';
import { alert, ruleFile, ruleGroup, type AlertingRule, type PromDuration, type PrometheusRuleFile, type Severity } from './builder.js';

const NS = SEED.namespaces;

/**
 * One "the whole job is gone" alert per scrape job. Per-target alerts (`TargetDown`,
 * `CNPGInstanceDown`, `BitpinAppSidecarDown`) need at least one series to compare; when every
 * target of a job disappears (pods deleted, selector or port renamed, discovery broken) they go
 * silent with everything that reads the job's metrics. These fire on `absent(<key> == 1)`: no
 * target of the job is up, whether the targets are down or gone.
 *
 * `absent()` of a comparison carries no labels, so `job` (and `namespace` where the job lives in
 * one) are set as alert labels: routing, grouping and the Alertmanager inhibition of `TargetDown`
 * (equal `job`) rely on them.
 */
export interface AbsentJob {
  /** Alert name (kubernetes-mixin's where it has one). */
  readonly name: string;
  /** Scrape job (`job` label). */
  readonly job: string;
  /** The series whose absence means the job is gone: a selector with `job`. */
  readonly key: string;
  /** Namespace of every target, when the job has one. @default - none */
  readonly namespace?: string;
  readonly for: PromDuration;
  readonly severity: Severity;
  /** What is blind while the job is gone. */
  readonly blind: string;
}

/**
 * Every scrape job of libs/monitoring's prometheus.yml and the alert that fires when it is gone.
 * Two jobs are covered by alerts of their own topic file with the same shape: `bitpin-app`
 * (BitpinAppMetricsAbsent, bitpin-app.rules.yaml) and `kube-state-metrics` (KubeStateMetricsDown,
 * meta.rules.yaml); `cnpg` is CNPGClusterOffline (cnpg.rules.yaml).
 */
export const ABSENT_JOBS: readonly AbsentJob[] = [
  {
    name: 'KubeAPIDown',
    job: JOBS.apiserver,
    key: sel('up', { job: JOBS.apiserver }),
    for: '15m',
    severity: 'critical',
    blind: 'Prometheus cannot reach the Kubernetes API server: either the API server is down (nothing can be deployed, scaled or healed) or discovery of it is broken.',
  },
  {
    name: 'KubeletDown',
    job: JOBS.kubelet,
    key: sel('up', { job: JOBS.kubelet, metrics_path: '/metrics' }),
    for: '15m',
    severity: 'critical',
    blind: 'No kubelet is scraped: the volume alerts (KubePersistentVolumeFillingUp, CNPGVolumeFillingUp, BackupVolumeFillingUp) cannot fire.',
  },
  {
    name: 'KubeletCAdvisorDown',
    job: CADVISOR.job,
    key: sel('up', { ...CADVISOR }),
    for: '15m',
    severity: 'warning',
    blind: "No kubelet's cAdvisor endpoint is scraped: container CPU, memory and throttling panels are empty.",
  },
  {
    name: 'NodeExporterDown',
    job: JOBS.nodeExporter,
    key: sel('up', { job: JOBS.nodeExporter }),
    namespace: NS.monitoring,
    for: '10m',
    severity: 'critical',
    blind: 'No node-exporter is scraped: the node filesystem, inode, memory and clock alerts cannot fire.',
  },
  {
    name: 'LokiDown',
    job: JOBS.loki,
    key: sel('up', { job: JOBS.loki }),
    namespace: NS.logging,
    for: '10m',
    severity: 'critical',
    blind: 'No Loki is scraped: either Loki is gone (the log agents buffer, then drop lines) or its scrape is broken (LokiRequestErrors cannot fire).',
  },
  {
    name: 'LogAgentDown',
    job: JOBS.logAgent,
    key: sel('up', { job: JOBS.logAgent }),
    namespace: NS.logging,
    for: '10m',
    severity: 'warning',
    blind: 'No log agent is scraped: pod logs are likely not collected at all, and LogAgentDroppingLines cannot fire.',
  },
  {
    name: 'AlertmanagerDown',
    job: JOBS.alertmanager,
    key: sel('up', { job: JOBS.alertmanager }),
    namespace: NS.monitoring,
    for: '5m',
    severity: 'critical',
    blind: 'No Alertmanager is scraped. If none runs, no notification leaves (this alert too: the Watchdog dead man\'s switch is what pages then).',
  },
  {
    name: 'GrafanaDown',
    job: JOBS.grafana,
    key: sel('up', { job: JOBS.grafana }),
    for: '10m',
    severity: 'warning',
    blind: 'No Grafana is scraped: on-call has no dashboards (alerts still flow).',
  },
  {
    name: 'PrometheusSelfScrapeDown',
    job: JOBS.prometheus,
    key: sel('up', { job: JOBS.prometheus }),
    namespace: NS.monitoring,
    for: '10m',
    severity: 'warning',
    blind: "Prometheus does not scrape itself: every Prometheus* alert (bad config, rule failures, notification errors) is blind.",
  },
];

/** The alert of one absent job. */
export function absentJobAlert(j: AbsentJob): AlertingRule {
  return alert({
    name: j.name,
    expr: `absent(${j.key} == 1)`,
    for: j.for,
    severity: j.severity,
    labels: { job: j.job, ...(j.namespace ? { namespace: j.namespace } : {}) },
    summary: `No target of scrape job ${j.job} is up`,
    description: `Prometheus has had no up target in job "${j.job}" for ${j.for} (all down, or none discovered). ${j.blind}`,
  });
}

/** With `logging.backend: victorialogs` the store's job is `victorialogs`; it replaces LokiDown. */
export const VICTORIALOGS_ABSENT_JOB: AbsentJob = {
  name: 'VictoriaLogsDown',
  job: JOBS.victorialogs,
  key: sel('up', { job: JOBS.victorialogs }),
  namespace: NS.logging,
  for: '10m',
  severity: 'critical',
  blind: 'No VictoriaLogs is scraped: either it is gone (vlagent queues on disk, then drops; Promtail and Alloy retry, then drop) or its scrape is broken (VictoriaLogsDiskFillingUp and VictoriaLogsDroppingRows cannot fire).',
};

/** The absent-job list of an env: the store's job follows `logging.backend`. */
export function absentJobs(env: EnvConfig): readonly AbsentJob[] {
  if (env.logging.backend !== 'victorialogs') return ABSENT_JOBS;
  return ABSENT_JOBS.map((j) => (j.job === JOBS.loki ? VICTORIALOGS_ABSENT_JOB : j));
}

/** Whole-job alerts for every scrape job of the env (see {@link ABSENT_JOBS}). */
export function scrapeRules(env: EnvConfig): PrometheusRuleFile {
  return ruleFile('scrape.rules.yaml', [ruleGroup('scrape', absentJobs(env).map(absentJobAlert))]);
}
