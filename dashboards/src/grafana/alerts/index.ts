import { SEED, type EnvConfig } from '@bitpin/config';
import { DashboardLinkBuilder, DashboardLinkType } from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { JOBS, sel, type Matcher } from '../../promql.js';
import { RUNBOOK_BASE_URL, SEVERITIES } from '../../prometheus/builder.js';
import {
  addRow,
  customVariable,
  platformDashboard,
  prometheusDatasourceVariable,
  promInstant,
  promQuery,
  promTable,
  queryVariable,
  runbookLink,
  statPanel,
  tablePanel,
  thresholds,
  timeseriesPanel,
  upperThresholds,
  varMatch,
} from '../common.js';

const scope = { namespace: varMatch('namespace'), pod: varMatch('pod'), severity: varMatch('severity') };
const alerts = (extra: Record<string, Matcher>) => sel('ALERTS', { ...scope, ...extra });
const firing = (extra: Record<string, Matcher> = {}) => alerts({ alertstate: 'firing', ...extra });

function summaryPanels() {
  const count = (title: string, description: string, series: string, warnAt: number, critAt: number) =>
    statPanel({ title, description, unit: units.Short, thresholds: upperThresholds(warnAt, critAt) }, promInstant(`count(${series}) or vector(0)`));
  return [
    count('Critical firing', 'Firing alerts with severity critical (they page).', firing({ severity: 'critical' }), 1, 1),
    count('Warning firing', 'Firing alerts with severity warning.', firing({ severity: 'warning' }), 1, 5),
    count('Pending', 'Alerts whose condition holds but whose `for` has not elapsed yet.', alerts({ alertstate: 'pending' }), 1, 10),
    statPanel(
      {
        title: 'Watchdog',
        description: 'The always-firing heartbeat. MISSING means rule evaluation is broken.',
        unit: units.NoUnit,
        thresholds: thresholds([null, 'red'], [1, 'green']),
        mappings: [
          { value: 0, text: 'MISSING', color: 'red' },
          { value: 1, text: 'alive', color: 'green' },
        ],
      },
      promInstant(`count(${sel('ALERTS', { alertname: 'Watchdog', alertstate: 'firing' })}) or vector(0)`),
    ).links([runbookLink('Watchdog')]),
  ];
}

/** Per-row link of the alert tables: the runbook of the row's alert. */
const rowRunbook = () =>
  new DashboardLinkBuilder('Runbook: ${__data.fields.alertname}')
    .type(DashboardLinkType.Link)
    .url(`${RUNBOOK_BASE_URL}\${__data.fields.alertname}.md`)
    .targetBlank(true);

function listPanels() {
  return [
    timeseriesPanel(
      { title: 'Firing alerts over time', description: 'Number of firing alerts by name and severity.', unit: units.Short, min: 0, stacked: true },
      promQuery(`count by (alertname, severity) (${firing()})`, '{{alertname}} ({{severity}})'),
    ),
    tablePanel({ title: 'Firing now', description: "Every firing alert with its labels; click a row for the alert's runbook (docs/runbooks/<alertname>.md).", unit: units.Short }, promTable(firing())).dataLinks([rowRunbook()]),
    tablePanel({ title: 'Pending now', description: "Alerts that will fire when their `for` elapses; click a row for the alert's runbook.", unit: units.Short }, promTable(alerts({ alertstate: 'pending' }))).dataLinks([rowRunbook()]),
  ];
}

function pipelinePanels() {
  const prom = (m: string) => sel(m, { job: JOBS.prometheus });
  const am = (m: string) => sel(m, { job: JOBS.alertmanager });
  return [
    timeseriesPanel(
      { title: 'Rule evaluation failures', description: 'Failed rule evaluations per second by group (alert PrometheusRuleFailures).', unit: units.OpsPerSecond, min: 0, thresholds: upperThresholds(0.001, 0.01) },
      promQuery(`sum by (rule_group) (rate(${prom('prometheus_rule_evaluation_failures_total')}[$__rate_interval]))`, '{{rule_group}}'),
    ).links([runbookLink('PrometheusRuleFailures')]),
    timeseriesPanel(
      { title: 'Rule group duration', description: 'Time the last evaluation of each rule group took; it must stay well below the evaluation interval.', unit: units.Seconds, min: 0 },
      promQuery(`max by (rule_group) (${prom('prometheus_rule_group_last_duration_seconds')})`, '{{rule_group}}'),
    ),
    timeseriesPanel(
      { title: 'Alerts sent to Alertmanager', description: 'Alerts Prometheus sent and failed to send per second (alert PrometheusErrorSendingAlerts).', unit: units.OpsPerSecond, min: 0 },
      promQuery(`sum(rate(${prom('prometheus_notifications_sent_total')}[$__rate_interval]))`, 'sent'),
      promQuery(`sum(rate(${prom('prometheus_notifications_errors_total')}[$__rate_interval]))`, 'errors'),
    ).links([runbookLink('PrometheusErrorSendingAlerts'), runbookLink('PrometheusErrorSendingAlertsToAnyAlertmanager')]),
    timeseriesPanel(
      { title: 'Notifications by integration', description: 'Notifications Alertmanager sent and failed per integration (alert AlertmanagerFailedToSendAlerts).', unit: units.OpsPerSecond, min: 0 },
      promQuery(`sum by (integration) (rate(${am('alertmanager_notifications_total')}[$__rate_interval]))`, 'sent {{integration}}'),
      promQuery(`sum by (integration) (rate(${am('alertmanager_notifications_failed_total')}[$__rate_interval]))`, 'failed {{integration}}'),
    ).links([runbookLink('AlertmanagerFailedToSendAlerts')]),
  ];
}

/**
 * Whether every scrape job has targets up, and the health signals of Prometheus and Alertmanager
 * that their alerts watch (a tile per signal; the runbook links are in src/grafana/runbooks.ts).
 */
function healthPanels() {
  const prom = (m: string) => sel(m, { job: JOBS.prometheus });
  const am = (m: string) => sel(m, { job: JOBS.alertmanager });
  // Counters that only exist once their mechanism is used (SD refresh, Kubernetes SD): 0 until then.
  const failures1h = (m: string) => `sum(increase(${prom(m)}[1h])) or vector(0)`;
  return [
    statPanel(
      {
        title: 'Scrape jobs: targets up',
        description: 'Targets up per scrape job. A job missing here has no target at all; its whole-job alert (scrape.rules.yaml) fires when none is up.',
        unit: units.Short,
        showName: true,
        thresholds: thresholds([null, 'red'], [1, 'green']),
      },
      promInstant(`sum by (job) (${sel('up')})`, '{{job}}'),
    ),
    statPanel(
      { title: 'Prometheus health', description: 'Config reload, discovery, rule evaluation, notification queue and TSDB signals of each Prometheus (the Prometheus* alerts).', unit: units.Short, showName: true },
      promInstant(`min(${prom('prometheus_config_last_reload_successful')})`, 'config reloaded (1 = ok)'),
      promInstant(failures1h('prometheus_sd_refresh_failures_total'), 'SD refresh failures (1h)'),
      promInstant(failures1h('prometheus_sd_kubernetes_failures_total'), 'Kubernetes SD failures (1h)'),
      promInstant(`min(${prom('prometheus_notifications_alertmanagers_discovered')})`, 'Alertmanagers discovered'),
      promInstant(`max(${prom('prometheus_notifications_queue_length')} / ${prom('prometheus_notifications_queue_capacity')})`, 'notification queue used'),
      promInstant(failures1h('prometheus_rule_group_iterations_missed_total'), 'missed rule evaluations (1h)'),
      promInstant(failures1h('prometheus_tsdb_compactions_failed_total'), 'failed compactions (1h)'),
      promInstant(failures1h('prometheus_tsdb_reloads_failures_total'), 'failed TSDB reloads (1h)'),
    ),
    statPanel(
      { title: 'Alertmanager health', description: 'Config reload, configuration agreement and cluster size of the Alertmanagers (the Alertmanager* alerts).', unit: units.Short, showName: true },
      promInstant(`min(${am('alertmanager_config_last_reload_successful')})`, 'config reloaded (1 = ok)'),
      promInstant(`count(count by (config_hash) (${am('alertmanager_config_hash')}))`, 'distinct configs'),
      promInstant(`min(${am('alertmanager_cluster_members')}) or vector(0)`, 'cluster members (0 = clustering off)'),
    ),
  ];
}

/** What is firing now, over time, and whether the alerting pipeline itself works. */
export function alertsDashboard(env: EnvConfig) {
  // Grafana's alerting pages pick the Alertmanager by data-source *name* (?alertmanager=<name>).
  const amName = SEED.grafana.datasources.alertmanager.name;
  const b = platformDashboard({
    key: 'alerts',
    description: `Prometheus alerts of env ${env.name} (the ALERTS series) and the health of rule evaluation and notification delivery. Silences and routing live in Alertmanager.`,
    tags: ['alerts'],
    from: 'now-24h',
    variables: [
      prometheusDatasourceVariable(),
      queryVariable('namespace', 'Namespace', 'label_values(ALERTS, namespace)'),
      queryVariable('pod', 'Pod', 'label_values(ALERTS{namespace=~"$namespace"}, pod)'),
      customVariable('severity', 'Severity', SEVERITIES),
    ],
    extraLinks: [
      new DashboardLinkBuilder('Alertmanager: groups and silences')
        .type(DashboardLinkType.Link)
        .url(`/alerting/groups?alertmanager=${encodeURIComponent(amName)}`)
        .icon('bell')
        .tooltip(`Grafana's view of the Alertmanager data source "${amName}"`)
        .targetBlank(false),
    ],
  });
  addRow(b, 'Now', summaryPanels(), 6, 4);
  addRow(b, 'Alerts', listPanels(), 24, 9);
  addRow(b, 'Alerting pipeline', pipelinePanels(), 12);
  addRow(b, 'Scrape jobs, Prometheus and Alertmanager', healthPanels(), 8, 6);
  return b;
}
