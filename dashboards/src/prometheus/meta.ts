import type { EnvConfig } from '@bitpin/config';
import { JOBS, sel } from '../promql.js';
import { alert, ruleFile, ruleGroup, type PrometheusRuleFile } from './builder.js';

/**
 * Minimum traffic of the notification-ratio alerts, as a count over their 5-minute window. With
 * only the Watchdog firing, Prometheus sends about 5 alerts and Alertmanager about 5 notifications
 * in 5 minutes; fewer than that is not enough to call a ratio.
 */
export const MIN_NOTIFICATIONS_PER_5M = 5;

/** The monitoring pipeline itself: heartbeat, scrape health, rule evaluation, notification delivery. */
export function metaRules(_env: EnvConfig): PrometheusRuleFile {
  const prom = JOBS.prometheus;
  const am = JOBS.alertmanager;
  const alerts = [
    alert({
      name: 'Watchdog',
      expr: 'vector(1)',
      severity: 'none',
      summary: 'Alerting pipeline heartbeat (always firing)',
      description:
        'This alert always fires. Route it to a dead-man\'s-switch receiver: when it stops arriving, Prometheus, Alertmanager or the route between them is broken.',
    }),
    alert({
      name: 'TargetDown',
      expr: `100 * (
  count by (job, namespace) (up == 0)
  /
  count by (job, namespace) (up)
) > 10`,
      for: '10m',
      severity: 'warning',
      summary: '{{ $value | printf "%.0f" }}% of the {{ $labels.job }} targets are down',
      description:
        'More than 10% of the targets of scrape job {{ $labels.job }} (namespace {{ $labels.namespace }}) have been unreachable for 10 minutes; their alerts are blind.',
    }),
    alert({
      name: 'KubeStateMetricsDown',
      expr: `absent(${sel('up', { job: JOBS.kubeStateMetrics })} == 1)`,
      for: '15m',
      severity: 'critical',
      labels: { job: JOBS.kubeStateMetrics },
      summary: 'kube-state-metrics is not being scraped',
      description:
        'No kube-state-metrics target has been up for 15 minutes. The backup, CronJob and workload alerts read its metrics and cannot fire while it is gone.',
    }),
    alert({
      name: 'PrometheusRuleFailures',
      expr: `sum by (namespace, pod, rule_group) (increase(${sel('prometheus_rule_evaluation_failures_total', { job: prom })}[5m])) > 0`,
      for: '15m',
      severity: 'critical',
      summary: 'Prometheus fails to evaluate rules of group {{ $labels.rule_group }}',
      description:
        'Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has failed {{ $value | printf "%.0f" }} rule evaluations in the last 5 minutes, for 15 minutes. Alerts of that group may be silently broken.',
    }),
    alert({
      name: 'PrometheusNotConnectedToAlertmanagers',
      expr: `max by (namespace, pod) (max_over_time(${sel('prometheus_notifications_alertmanagers_discovered', { job: prom })}[5m])) < 1`,
      for: '10m',
      severity: 'warning',
      summary: 'Prometheus {{ $labels.pod }} knows no Alertmanager',
      description:
        'Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has discovered no Alertmanager for 10 minutes: alerts fire but nobody is notified.',
    }),
    alert({
      name: 'PrometheusErrorSendingAlerts',
      expr: `sum by (namespace, pod, alertmanager) (rate(${sel('prometheus_notifications_errors_total', { job: prom })}[5m]))
/
sum by (namespace, pod, alertmanager) (rate(${sel('prometheus_notifications_sent_total', { job: prom })}[5m]))
> 0.01
and on (namespace, pod, alertmanager)
sum by (namespace, pod, alertmanager) (increase(${sel('prometheus_notifications_sent_total', { job: prom })}[5m])) >= ${MIN_NOTIFICATIONS_PER_5M}`,
      for: '15m',
      severity: 'warning',
      summary: 'Prometheus {{ $labels.pod }} fails to send {{ $value | humanizePercentage }} of alerts',
      description:
        'Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has failed to deliver more than 1% of alerts to Alertmanager {{ $labels.alertmanager }} for 15 minutes.',
    }),
    alert({
      name: 'AlertmanagerFailedToSendAlerts',
      expr: `sum by (namespace, pod, integration) (rate(${sel('alertmanager_notifications_failed_total', { job: am })}[5m]))
/
sum by (namespace, pod, integration) (rate(${sel('alertmanager_notifications_total', { job: am })}[5m]))
> 0.01
and on (namespace, pod, integration)
sum by (namespace, pod, integration) (increase(${sel('alertmanager_notifications_total', { job: am })}[5m])) >= ${MIN_NOTIFICATIONS_PER_5M}`,
      for: '5m',
      severity: 'warning',
      summary: 'Alertmanager {{ $labels.pod }} fails {{ $value | humanizePercentage }} of {{ $labels.integration }} notifications',
      description:
        'Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} has failed to deliver more than 1% of notifications through {{ $labels.integration }} for 5 minutes: receivers miss alerts. Check the receivers Secret and the integration endpoint.',
    }),
    alert({
      name: 'InfoInhibitor',
      // kubernetes-mixin's: info alerts in a namespace without a firing warning or critical.
      // Alertmanager mutes info alerts while it fires (and never notifies it), so info alerts only
      // reach a receiver next to a warning or critical of their namespace.
      expr: `${sel('ALERTS', { severity: 'info' })} == 1
unless on (namespace)
${sel('ALERTS', { alertname: { not: 'InfoInhibitor' }, severity: { re: 'warning|critical' }, alertstate: 'firing' })} == 1`,
      severity: 'none',
      summary: 'Info alerts are muted in {{ $labels.namespace }}',
      description:
        'Info alerts fire in {{ $labels.namespace }} without a warning or critical next to them. This alert only drives an Alertmanager inhibition: it mutes those info alerts and is itself never sent.',
    }),
    alert({
      name: 'PrometheusBadConfig',
      expr: `max by (namespace, pod) (max_over_time(${sel('prometheus_config_last_reload_successful', { job: prom })}[5m])) == 0`,
      for: '10m',
      severity: 'critical',
      summary: 'Prometheus {{ $labels.pod }} failed to reload its configuration',
      description:
        'The last configuration reload of Prometheus {{ $labels.namespace }}/{{ $labels.pod }} failed, for 10 minutes: it keeps running the old config and rules, and the next restart fails. See its log for the reason (promtool check config).',
    }),
    alert({
      name: 'PrometheusSDRefreshFailure',
      expr: `sum by (namespace, pod, mechanism) (increase(${sel('prometheus_sd_refresh_failures_total', { job: prom })}[10m])) > 0`,
      for: '20m',
      severity: 'warning',
      summary: 'Prometheus {{ $labels.pod }} fails to refresh {{ $labels.mechanism }} discovery',
      description:
        'Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has failed to refresh service discovery ({{ $labels.mechanism }}) for 20 minutes: new and moved targets are not scraped.',
    }),
    alert({
      name: 'PrometheusKubernetesListWatchFailures',
      expr: `sum by (namespace, pod) (increase(${sel('prometheus_sd_kubernetes_failures_total', { job: prom })}[5m])) > 0`,
      for: '15m',
      severity: 'warning',
      summary: 'Prometheus {{ $labels.pod }} fails to list or watch Kubernetes objects',
      description:
        'Kubernetes service discovery of Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has had list/watch failures for 15 minutes (RBAC, API server): targets are missing or stale.',
    }),
    alert({
      name: 'PrometheusMissingRuleEvaluations',
      expr: `sum by (namespace, pod, rule_group) (increase(${sel('prometheus_rule_group_iterations_missed_total', { job: prom })}[5m])) > 0`,
      for: '15m',
      severity: 'warning',
      summary: 'Prometheus {{ $labels.pod }} skips evaluations of rule group {{ $labels.rule_group }}',
      description:
        'Rule group {{ $labels.rule_group }} of Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has been slower than its interval for 15 minutes, so evaluations are skipped: alerts of that group fire late or not at all.',
    }),
    alert({
      name: 'PrometheusNotificationQueueRunningFull',
      expr: `max by (namespace, pod) (predict_linear(${sel('prometheus_notifications_queue_length', { job: prom })}[5m], 60 * 30))
>
min by (namespace, pod) (min_over_time(${sel('prometheus_notifications_queue_capacity', { job: prom })}[5m]))`,
      for: '15m',
      severity: 'warning',
      summary: 'The alert queue of Prometheus {{ $labels.pod }} is predicted to be full within 30 minutes',
      description:
        'The notification queue of Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has been growing for 15 minutes and will be full within 30: alerts are then dropped before reaching Alertmanager.',
    }),
    alert({
      name: 'PrometheusErrorSendingAlertsToAnyAlertmanager',
      expr: `min by (namespace, pod) (
  rate(${sel('prometheus_notifications_errors_total', { job: prom })}[5m])
  /
  rate(${sel('prometheus_notifications_sent_total', { job: prom })}[5m])
) > 0.03
and on (namespace, pod)
sum by (namespace, pod) (increase(${sel('prometheus_notifications_sent_total', { job: prom })}[5m])) >= ${MIN_NOTIFICATIONS_PER_5M}`,
      for: '15m',
      severity: 'critical',
      summary: 'Prometheus {{ $labels.pod }} fails to send alerts to every Alertmanager',
      description:
        'Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has failed more than 3% of its sends to even the best Alertmanager for 15 minutes: alerts may reach nobody.',
    }),
    alert({
      name: 'PrometheusTSDBCompactionsFailing',
      expr: `sum by (namespace, pod) (increase(${sel('prometheus_tsdb_compactions_failed_total', { job: prom })}[3h])) > 0`,
      for: '4h',
      severity: 'warning',
      summary: 'Prometheus {{ $labels.pod }} fails to compact its TSDB',
      description:
        'Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has had failed TSDB compactions for 4 hours: the head block grows (memory) and retention may stop working. Check its volume and log.',
    }),
    alert({
      name: 'PrometheusTSDBReloadsFailing',
      expr: `sum by (namespace, pod) (increase(${sel('prometheus_tsdb_reloads_failures_total', { job: prom })}[3h])) > 0`,
      for: '4h',
      severity: 'warning',
      summary: 'Prometheus {{ $labels.pod }} fails to reload TSDB blocks',
      description:
        'Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has failed to reload blocks from disk for 4 hours (corrupt or unreadable blocks): queries miss data.',
    }),
    alert({
      name: 'AlertmanagerFailedReload',
      expr: `max by (namespace, pod) (max_over_time(${sel('alertmanager_config_last_reload_successful', { job: am })}[5m])) == 0`,
      for: '10m',
      severity: 'critical',
      summary: 'Alertmanager {{ $labels.pod }} failed to reload its configuration',
      description:
        'The last configuration reload of Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} failed, for 10 minutes: routing and receivers changes are not in effect (the assemble sidecar keeps a broken receivers Secret out; this is what is left).',
    }),
    alert({
      name: 'AlertmanagerConfigInconsistent',
      expr: `count by (namespace) (count_values by (namespace) ("config_hash", ${sel('alertmanager_config_hash', { job: am })})) != 1`,
      for: '20m',
      severity: 'critical',
      summary: 'Alertmanagers in {{ $labels.namespace }} run different configurations',
      description:
        'The Alertmanager replicas in {{ $labels.namespace }} have run {{ $value }} different configurations for 20 minutes: alerts are routed differently depending on which one handles them.',
    }),
    alert({
      name: 'AlertmanagerMembersInconsistent',
      expr: `max by (namespace, pod) (max_over_time(${sel('alertmanager_cluster_members', { job: am })}[5m]))
< on (namespace) group_left ()
count by (namespace) (max_over_time(${sel('alertmanager_cluster_members', { job: am })}[5m]))`,
      for: '15m',
      severity: 'critical',
      summary: 'Alertmanager {{ $labels.pod }} sees {{ $value }} cluster member(s), fewer than run',
      description:
        'Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} has not found all its peers for 15 minutes: silences and notification state are not shared, so notifications are duplicated or silences ignored.',
    }),
    alert({
      name: 'AlertmanagerClusterDown',
      expr: `(
  count by (namespace) (avg_over_time(${sel('up', { job: am })}[5m]) < 0.5)
  /
  count by (namespace) (${sel('up', { job: am })})
) >= 0.5`,
      for: '5m',
      severity: 'critical',
      // `job` lets Alertmanager inhibit TargetDown of the job while the cluster is down.
      labels: { job: am },
      summary: 'Half or more of the Alertmanagers in {{ $labels.namespace }} are down',
      description:
        '{{ $value | humanizePercentage }} of the Alertmanager replicas in {{ $labels.namespace }} have been unreachable for most of the last 5 minutes: notification delivery depends on the rest, or on nothing.',
    }),
  ];
  return ruleFile('meta.rules.yaml', [ruleGroup('meta', alerts)]);
}
