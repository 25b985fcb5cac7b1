import type { EnvConfig } from '@bitpin/config';
import { JOBS, sel } from '../promql.js';
import { alert, ruleFile, ruleGroup, type PrometheusRuleFile } from './builder.js';

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
> 0.01`,
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
> 0.01`,
      for: '5m',
      severity: 'warning',
      summary: 'Alertmanager {{ $labels.pod }} fails {{ $value | humanizePercentage }} of {{ $labels.integration }} notifications',
      description:
        'Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} has failed to deliver more than 1% of notifications through {{ $labels.integration }} for 5 minutes: receivers miss alerts. Check the receivers Secret and the integration endpoint.',
    }),
  ];
  return ruleFile('meta.rules.yaml', [ruleGroup('meta', alerts)]);
}
