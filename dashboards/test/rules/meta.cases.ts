import type { EnvConfig } from '@bitpin/config';
import { firing, series, silent, type PromtoolCase, type RuleIndex } from '../promtool.js';

const prom = { job: 'prometheus', namespace: 'monitoring', pod: 'prometheus-0' };
const am = { job: 'alertmanager', namespace: 'monitoring', pod: 'alertmanager-0' };
const AM_URL = 'http://10.0.0.7:9093/api/v2/alerts';

export function metaCases(_env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  const up = (job: string, pod: string, values: string) => series('up', { job, namespace: 'bitpin-task', pod }, values);
  return [
    {
      name: 'Watchdog: always firing, from the first evaluation',
      input_series: [],
      alert_rule_test: [
        firing(
          'Watchdog',
          '0m',
          r.fired('Watchdog', 'none', {}, {
            summary: 'Alerting pipeline heartbeat (always firing)',
            description:
              "This alert always fires. Route it to a dead-man's-switch receiver: when it stops arriving, Prometheus, Alertmanager or the route between them is broken.",
          }),
        ),
      ],
    },
    {
      name: 'TargetDown: half the cnpg targets down for 10m',
      input_series: [up('cnpg', 'bitpin-cluster-1', '1x20'), up('cnpg', 'bitpin-cluster-2', '1 1 0x20')],
      alert_rule_test: [
        silent('TargetDown', '11m'),
        firing(
          'TargetDown',
          '12m',
          r.fired('TargetDown', 'warning', { job: 'cnpg', namespace: 'bitpin-task' }, {
            summary: '50% of the cnpg targets are down',
            description: 'More than 10% of the targets of scrape job cnpg (namespace bitpin-task) have been unreachable for 10 minutes; their alerts are blind.',
          }),
        ),
      ],
    },
    {
      name: 'TargetDown: 1 of 11 targets (9%) stays silent',
      input_series: Array.from({ length: 11 }, (_, i) => up('bitpin-app', `bitpin-app-${i}`, i === 0 ? '0x20' : '1x20')),
      alert_rule_test: [silent('TargetDown', '20m')],
    },
    {
      name: 'KubeStateMetricsDown: no up kube-state-metrics target for 15m',
      input_series: [series('up', { job: 'kube-state-metrics', instance: '10.0.0.3:8080' }, '1 1 0x30')],
      alert_rule_test: [
        silent('KubeStateMetricsDown', '16m'),
        firing(
          'KubeStateMetricsDown',
          '17m',
          r.fired('KubeStateMetricsDown', 'critical', {}, {
            summary: 'kube-state-metrics is not being scraped',
            description:
              'No kube-state-metrics target has been up for 15 minutes. The backup, CronJob and workload alerts read its metrics and cannot fire while it is gone.',
          }),
        ),
      ],
    },
    {
      name: 'KubeStateMetricsDown: an up target stays silent',
      input_series: [series('up', { job: 'kube-state-metrics', instance: '10.0.0.3:8080' }, '1x30')],
      alert_rule_test: [silent('KubeStateMetricsDown', '30m')],
    },
    {
      name: 'PrometheusRuleFailures: failing evaluations for 15m',
      input_series: [
        series('prometheus_rule_evaluation_failures_total', { ...prom, instance: 'x', rule_group: '/etc/prometheus/rules/cnpg.rules.yaml;cnpg' }, '0+1x30'),
        series('prometheus_rule_evaluation_failures_total', { ...prom, instance: 'x', rule_group: '/etc/prometheus/rules/meta.rules.yaml;meta' }, '0x30'),
      ],
      alert_rule_test: [
        silent('PrometheusRuleFailures', '15m'),
        firing(
          'PrometheusRuleFailures',
          '16m',
          r.fired('PrometheusRuleFailures', 'critical', { namespace: 'monitoring', pod: 'prometheus-0', rule_group: '/etc/prometheus/rules/cnpg.rules.yaml;cnpg' }, {
            summary: 'Prometheus fails to evaluate rules of group /etc/prometheus/rules/cnpg.rules.yaml;cnpg',
            description:
              'Prometheus monitoring/prometheus-0 has failed 5 rule evaluations in the last 5 minutes, for 15 minutes. Alerts of that group may be silently broken.',
          }),
        ),
      ],
    },
    {
      name: 'PrometheusRuleFailures: no new failures stays silent',
      input_series: [series('prometheus_rule_evaluation_failures_total', { ...prom, rule_group: 'g' }, '3x30')],
      alert_rule_test: [silent('PrometheusRuleFailures', '30m')],
    },
    {
      name: 'PrometheusNotConnectedToAlertmanagers: none discovered for 5m, then 10m more',
      // Samples every 7s, so no sample sits exactly on a window edge: Prometheus 2 includes the
      // left edge of a range, Prometheus 3 excludes it, and both must agree here. The last 1 is
      // at 7s; max_over_time(…[5m]) < 1 from the 6m evaluation on (pending), firing at 16m.
      interval: '7s',
      input_series: [series('prometheus_notifications_alertmanagers_discovered', prom, '1 1 0x200')],
      alert_rule_test: [
        silent('PrometheusNotConnectedToAlertmanagers', '15m'),
        firing(
          'PrometheusNotConnectedToAlertmanagers',
          '16m',
          r.fired('PrometheusNotConnectedToAlertmanagers', 'warning', { namespace: 'monitoring', pod: 'prometheus-0' }, {
            summary: 'Prometheus prometheus-0 knows no Alertmanager',
            description: 'Prometheus monitoring/prometheus-0 has discovered no Alertmanager for 10 minutes: alerts fire but nobody is notified.',
          }),
        ),
      ],
    },
    {
      name: 'PrometheusNotConnectedToAlertmanagers: one Alertmanager stays silent',
      input_series: [series('prometheus_notifications_alertmanagers_discovered', prom, '1x30')],
      alert_rule_test: [silent('PrometheusNotConnectedToAlertmanagers', '30m')],
    },
    {
      name: 'PrometheusErrorSendingAlerts: 5% of alerts fail for 15m',
      input_series: [
        series('prometheus_notifications_errors_total', { ...prom, alertmanager: AM_URL }, '0+5x30'),
        series('prometheus_notifications_sent_total', { ...prom, alertmanager: AM_URL }, '0+100x30'),
      ],
      alert_rule_test: [
        silent('PrometheusErrorSendingAlerts', '15m'),
        firing(
          'PrometheusErrorSendingAlerts',
          '16m',
          r.fired('PrometheusErrorSendingAlerts', 'warning', { namespace: 'monitoring', pod: 'prometheus-0', alertmanager: AM_URL }, {
            summary: 'Prometheus prometheus-0 fails to send 5% of alerts',
            description: `Prometheus monitoring/prometheus-0 has failed to deliver more than 1% of alerts to Alertmanager ${AM_URL} for 15 minutes.`,
          }),
        ),
      ],
    },
    {
      name: 'PrometheusErrorSendingAlerts: no errors stays silent',
      input_series: [
        series('prometheus_notifications_errors_total', { ...prom, alertmanager: AM_URL }, '0x30'),
        series('prometheus_notifications_sent_total', { ...prom, alertmanager: AM_URL }, '0+100x30'),
      ],
      alert_rule_test: [silent('PrometheusErrorSendingAlerts', '30m')],
    },
    {
      name: 'AlertmanagerFailedToSendAlerts: 10% of webhook notifications fail for 5m',
      input_series: [
        series('alertmanager_notifications_failed_total', { ...am, integration: 'webhook', reason: 'serverError' }, '0+10x20'),
        series('alertmanager_notifications_failed_total', { ...am, integration: 'webhook', reason: 'other' }, '0x20'),
        series('alertmanager_notifications_total', { ...am, integration: 'webhook' }, '0+100x20'),
        series('alertmanager_notifications_failed_total', { ...am, integration: 'email', reason: 'other' }, '0x20'),
        series('alertmanager_notifications_total', { ...am, integration: 'email' }, '0+10x20'),
      ],
      alert_rule_test: [
        silent('AlertmanagerFailedToSendAlerts', '5m'),
        firing(
          'AlertmanagerFailedToSendAlerts',
          '6m',
          r.fired('AlertmanagerFailedToSendAlerts', 'warning', { namespace: 'monitoring', pod: 'alertmanager-0', integration: 'webhook' }, {
            summary: 'Alertmanager alertmanager-0 fails 10% of webhook notifications',
            description:
              'Alertmanager monitoring/alertmanager-0 has failed to deliver more than 1% of notifications through webhook for 5 minutes: receivers miss alerts. Check the receivers Secret and the integration endpoint.',
          }),
        ),
      ],
    },
    {
      name: 'AlertmanagerFailedToSendAlerts: all delivered stays silent',
      input_series: [
        series('alertmanager_notifications_failed_total', { ...am, integration: 'webhook', reason: 'other' }, '0x20'),
        series('alertmanager_notifications_total', { ...am, integration: 'webhook' }, '0+100x20'),
      ],
      alert_rule_test: [silent('AlertmanagerFailedToSendAlerts', '20m')],
    },
  ];
}
