import type { EnvConfig } from '@bitpin/config';
import { firing, series, silent, type PromtoolCase, type RuleIndex } from '../promtool.js';
import { expanded } from './expand.js';

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
    {
      name: 'InfoInhibitor: an info alert alone in its namespace is muted; one next to a warning is not',
      input_series: [
        series('ALERTS', { alertname: 'KubeQuotaAlmostFull', alertstate: 'firing', severity: 'info', namespace: 'logging' }, '1x10'),
        series('ALERTS', { alertname: 'KubeQuotaAlmostFull', alertstate: 'firing', severity: 'info', namespace: 'bitpin-task' }, '1x10'),
        series('ALERTS', { alertname: 'KubePodCrashLooping', alertstate: 'firing', severity: 'warning', namespace: 'bitpin-task' }, '1x10'),
      ],
      alert_rule_test: [firing('InfoInhibitor', '5m', expanded(r, 'InfoInhibitor', 'none', { alertstate: 'firing', namespace: 'logging' }))],
    },
    {
      name: 'InfoInhibitor: no info alert, nothing to mute',
      input_series: [series('ALERTS', { alertname: 'KubePodCrashLooping', alertstate: 'firing', severity: 'warning', namespace: 'bitpin-task' }, '1x10')],
      alert_rule_test: [silent('InfoInhibitor', '10m')],
    },
    ...(
      [
        ['PrometheusBadConfig', 'prometheus_config_last_reload_successful', prom],
        ['AlertmanagerFailedReload', 'alertmanager_config_last_reload_successful', am],
      ] as const
    ).flatMap(([name, metric, labels]): PromtoolCase[] => [
      {
        name: `${name}: the last reload failed and stays failed`,
        input_series: [series(metric, labels, '1 0x20')],
        // max_over_time()[5m] sees only the failed value from 5m on (Prometheus 3, left-open range)
        // or 6m (2.42, closed): firing at 15m or 16m.
        alert_rule_test: [silent(name, '14m'), firing(name, '16m', expanded(r, name, 'critical', { namespace: labels.namespace, pod: labels.pod }))],
      },
      {
        name: `${name}: a bad reload fixed 2 minutes later stays quiet`,
        input_series: [series(metric, labels, '1 0 0 1x20')],
        alert_rule_test: [silent(name, '10m'), silent(name, '20m')],
      },
    ]),
    {
      name: 'PrometheusSDRefreshFailure: discovery failing for 20m',
      input_series: [series('prometheus_sd_refresh_failures_total', { ...prom, mechanism: 'kubernetes' }, '0+1x40')],
      alert_rule_test: [
        silent('PrometheusSDRefreshFailure', '20m'),
        firing('PrometheusSDRefreshFailure', '21m', expanded(r, 'PrometheusSDRefreshFailure', 'warning', { namespace: 'monitoring', pod: 'prometheus-0', mechanism: 'kubernetes' })),
      ],
    },
    {
      name: 'PrometheusSDRefreshFailure: one failed refresh stays quiet',
      input_series: [series('prometheus_sd_refresh_failures_total', { ...prom, mechanism: 'kubernetes' }, '0 1x40')],
      alert_rule_test: [silent('PrometheusSDRefreshFailure', '21m'), silent('PrometheusSDRefreshFailure', '40m')],
    },
    ...(
      [
        ['PrometheusKubernetesListWatchFailures', 'prometheus_sd_kubernetes_failures_total', {}],
        ['PrometheusMissingRuleEvaluations', 'prometheus_rule_group_iterations_missed_total', { rule_group: '/etc/prometheus/rules/cnpg.rules.yaml;cnpg' }],
      ] as const
    ).flatMap(([name, metric, extra]): PromtoolCase[] => [
      {
        name: `${name}: failing for 15m`,
        input_series: [series(metric, { ...prom, ...extra }, '0+1x30')],
        alert_rule_test: [
          silent(name, '15m'),
          firing(name, '16m', expanded(r, name, 'warning', { namespace: 'monitoring', pod: 'prometheus-0', ...extra })),
        ],
      },
      {
        name: `${name}: one failure stays quiet`,
        input_series: [series(metric, { ...prom, ...extra }, '0 1x30')],
        alert_rule_test: [silent(name, '16m'), silent(name, '30m')],
      },
    ]),
    {
      name: 'PrometheusNotificationQueueRunningFull: the queue grows towards its capacity',
      input_series: [
        series('prometheus_notifications_queue_length', prom, '0+300x40'),
        series('prometheus_notifications_queue_capacity', prom, '10000x40'),
      ],
      alert_rule_test: [
        silent('PrometheusNotificationQueueRunningFull', '18m'),
        firing('PrometheusNotificationQueueRunningFull', '19m', expanded(r, 'PrometheusNotificationQueueRunningFull', 'warning', { namespace: 'monitoring', pod: 'prometheus-0' })),
      ],
    },
    {
      name: 'PrometheusNotificationQueueRunningFull: a steady short queue stays quiet',
      input_series: [series('prometheus_notifications_queue_length', prom, '50x40'), series('prometheus_notifications_queue_capacity', prom, '10000x40')],
      alert_rule_test: [silent('PrometheusNotificationQueueRunningFull', '40m')],
    },
    {
      name: 'PrometheusErrorSendingAlertsToAnyAlertmanager: 10% of sends fail to both Alertmanagers',
      input_series: ['10.0.0.7', '10.0.0.8'].flatMap((ip) => [
        series('prometheus_notifications_errors_total', { ...prom, alertmanager: `http://${ip}:9093/api/v2/alerts` }, '0+1x30'),
        series('prometheus_notifications_sent_total', { ...prom, alertmanager: `http://${ip}:9093/api/v2/alerts` }, '0+10x30'),
      ]),
      alert_rule_test: [
        silent('PrometheusErrorSendingAlertsToAnyAlertmanager', '15m'),
        firing('PrometheusErrorSendingAlertsToAnyAlertmanager', '16m', expanded(r, 'PrometheusErrorSendingAlertsToAnyAlertmanager', 'critical', { namespace: 'monitoring', pod: 'prometheus-0' })),
      ],
    },
    {
      name: 'PrometheusErrorSendingAlertsToAnyAlertmanager: one Alertmanager failing while the other works stays quiet',
      input_series: [
        series('prometheus_notifications_errors_total', { ...prom, alertmanager: AM_URL }, '0+10x30'),
        series('prometheus_notifications_sent_total', { ...prom, alertmanager: AM_URL }, '0+10x30'),
        series('prometheus_notifications_errors_total', { ...prom, alertmanager: 'http://10.0.0.8:9093/api/v2/alerts' }, '0x30'),
        series('prometheus_notifications_sent_total', { ...prom, alertmanager: 'http://10.0.0.8:9093/api/v2/alerts' }, '0+10x30'),
      ],
      alert_rule_test: [silent('PrometheusErrorSendingAlertsToAnyAlertmanager', '30m')],
    },
    ...(
      [
        ['PrometheusTSDBCompactionsFailing', 'prometheus_tsdb_compactions_failed_total'],
        ['PrometheusTSDBReloadsFailing', 'prometheus_tsdb_reloads_failures_total'],
      ] as const
    ).flatMap(([name, metric]): PromtoolCase[] => [
      {
        name: `${name}: failing for 4h`,
        interval: '5m',
        input_series: [series(metric, prom, '0+1x60')],
        alert_rule_test: [silent(name, '4h'), firing(name, '4h5m', expanded(r, name, 'warning', { namespace: 'monitoring', pod: 'prometheus-0' }))],
      },
      {
        name: `${name}: one failure, then none for 3h, stays quiet`,
        interval: '5m',
        input_series: [series(metric, prom, '0 1x60')],
        alert_rule_test: [silent(name, '4h5m'), silent(name, '5h')],
      },
    ]),
    {
      name: 'AlertmanagerConfigInconsistent: two replicas with different configs for 20m',
      input_series: [
        series('alertmanager_config_hash', am, '111x25'),
        series('alertmanager_config_hash', { ...am, pod: 'alertmanager-1' }, '222x25'),
      ],
      alert_rule_test: [
        silent('AlertmanagerConfigInconsistent', '19m'),
        firing('AlertmanagerConfigInconsistent', '20m', expanded(r, 'AlertmanagerConfigInconsistent', 'critical', { namespace: 'monitoring' }, '2')),
      ],
    },
    {
      name: 'AlertmanagerConfigInconsistent: the same config everywhere stays quiet',
      input_series: [series('alertmanager_config_hash', am, '111x25'), series('alertmanager_config_hash', { ...am, pod: 'alertmanager-1' }, '111x25')],
      alert_rule_test: [silent('AlertmanagerConfigInconsistent', '25m')],
    },
    {
      name: 'AlertmanagerMembersInconsistent: a replica that does not find its peer for 15m',
      input_series: [series('alertmanager_cluster_members', am, '1x20'), series('alertmanager_cluster_members', { ...am, pod: 'alertmanager-1' }, '2x20')],
      alert_rule_test: [
        silent('AlertmanagerMembersInconsistent', '14m'),
        firing('AlertmanagerMembersInconsistent', '15m', expanded(r, 'AlertmanagerMembersInconsistent', 'critical', { namespace: 'monitoring', pod: 'alertmanager-0' }, '1')),
      ],
    },
    {
      name: 'AlertmanagerMembersInconsistent: two replicas that see each other stay quiet',
      input_series: [series('alertmanager_cluster_members', am, '2x20'), series('alertmanager_cluster_members', { ...am, pod: 'alertmanager-1' }, '2x20')],
      alert_rule_test: [silent('AlertmanagerMembersInconsistent', '20m')],
    },
    {
      name: 'AlertmanagerClusterDown: one of two replicas down for most of 5 minutes',
      input_series: [series('up', am, '1x20'), series('up', { ...am, pod: 'alertmanager-1' }, '1 0x20')],
      alert_rule_test: [
        silent('AlertmanagerClusterDown', '6m'),
        firing('AlertmanagerClusterDown', '7m', expanded(r, 'AlertmanagerClusterDown', 'critical', { namespace: 'monitoring' }, '50%')),
      ],
    },
    {
      name: 'AlertmanagerClusterDown: a replica restarting for 2 minutes stays quiet',
      input_series: [series('up', am, '1x20'), series('up', { ...am, pod: 'alertmanager-1' }, '1 1 1 0 0 1x15')],
      alert_rule_test: [silent('AlertmanagerClusterDown', '5m'), silent('AlertmanagerClusterDown', '12m')],
    },
    {
      name: 'Notification ratios: 1 failed of 2 sends in 5 minutes (below the minimum of 5) stays quiet',
      input_series: [
        series('prometheus_notifications_errors_total', { ...prom, alertmanager: AM_URL }, '0 0 0 1 1 1 1 1 1'),
        series('prometheus_notifications_sent_total', { ...prom, alertmanager: AM_URL }, '0 0 0 1 1 1 2 2 2'),
        series('alertmanager_notifications_failed_total', { ...am, integration: 'webhook' }, '0 0 0 1 1 1 1 1 1'),
        series('alertmanager_notifications_total', { ...am, integration: 'webhook' }, '0 0 0 1 1 1 2 2 2'),
      ],
      alert_rule_test: [silent('PrometheusErrorSendingAlerts', '8m'), silent('AlertmanagerFailedToSendAlerts', '8m')],
    },
  ];
}
