import { BUSINESS_METRIC_PREFIX, histogramSeries, LABELS, METRICS, OVERFLOW_ROUTE, PROCESS_METRICS } from '@bitpin/metrics-contract';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { escapeRegex, sel } from '../../promql.js';
import { promQuery, thresholds, timeseriesPanel, upperThresholds } from '../common.js';
import { rateSum, requests, scope } from './selectors.js';

/** Saturation and the sidecar itself. */
export function saturationPanels() {
  return [
    timeseriesPanel(
      { title: 'In-flight requests', description: 'Requests being proxied per pod.', unit: units.Short, min: 0 },
      promQuery(`sum by (pod) (${sel(METRICS.httpActiveRequests.name, scope)})`, '{{pod}}'),
    ),
    timeseriesPanel(
      { title: 'Sidecar CPU', description: 'CPU of the metrics sidecar process per pod, as a share of one core.', unit: units.PercentUnit, min: 0 },
      promQuery(rateSum(sel(PROCESS_METRICS.cpuSeconds, scope), ['pod']), '{{pod}}'),
    ),
    timeseriesPanel(
      { title: 'Sidecar memory', description: 'Resident memory of the metrics sidecar per pod.', unit: units.BytesIEC, min: 0 },
      promQuery(`sum by (pod) (${sel(PROCESS_METRICS.residentMemory, scope)})`, '{{pod}}'),
    ),
    timeseriesPanel(
      {
        title: 'Sidecar event-loop lag p99',
        description: 'Node.js event-loop delay of the sidecar; high values add latency to every proxied request.',
        unit: units.Seconds,
        thresholds: upperThresholds(0.05, 0.2),
      },
      promQuery(`max by (pod) (${sel(PROCESS_METRICS.eventLoopLagP99, scope)})`, '{{pod}}'),
    ),
    timeseriesPanel(
      {
        title: 'Route templates vs cap',
        description: `Distinct route templates per pod and the cap; past it, new routes count as "${OVERFLOW_ROUTE}" (alert: BitpinAppRouteOverflow).`,
        unit: units.Short,
        min: 0,
      },
      promQuery(`max by (pod) (${sel(METRICS.routeTemplates.name, scope)})`, 'templates {{pod}}'),
      promQuery(`max by (pod) (${sel(METRICS.routeTemplatesLimit.name, scope)})`, 'cap {{pod}}'),
    ),
    timeseriesPanel(
      { title: 'Overflow share', description: `Share of requests counted under route="${OVERFLOW_ROUTE}".`, unit: units.PercentUnit, min: 0, thresholds: upperThresholds(0.01, 0.1) },
      promQuery(`${rateSum(sel(METRICS.httpRequests.name, { ...scope, [LABELS.route]: OVERFLOW_ROUTE }))}\n/\n${rateSum(requests())}`, 'overflow'),
    ),
  ];
}

/** Probes of Django and PostgreSQL made by every sidecar. */
export function probePanels() {
  const probe = histogramSeries('probeDuration');
  return [
    timeseriesPanel(
      {
        title: 'Probe status by target',
        description: 'Worst pod per target: 1 = the last probe succeeded, 0 = it failed.',
        unit: units.NoUnit,
        min: 0,
        max: 1,
        thresholds: thresholds([null, 'red'], [1, 'green']),
      },
      promQuery(`min by (${LABELS.target}) (${sel(METRICS.probeUp.name, scope)})`, `{{${LABELS.target}}}`),
    ),
    timeseriesPanel(
      { title: 'Probe duration p95', description: 'Duration of successful probes (PostgreSQL: connect, SELECT 1, disconnect).', unit: units.Seconds, thresholds: upperThresholds(0.5, 2) },
      promQuery(`histogram_quantile(0.95, ${rateSum(sel(probe.bucket, scope), [LABELS.target, 'le'])})`, `{{${LABELS.target}}}`),
    ),
  ];
}

/** Business gauges from the sidecar's queries file (read-only SQL on the database). */
export function businessPanels() {
  return [
    timeseriesPanel(
      { title: 'Business gauges', description: `Every gauge defined by the sidecar's queries file (${BUSINESS_METRIC_PREFIX}<query>).`, unit: units.Short },
      promQuery(
        `max without (instance, pod) ({__name__=~${JSON.stringify(`${escapeRegex(BUSINESS_METRIC_PREFIX)}.+`)}, job=${JSON.stringify(scope.job)}, namespace=~"$namespace"})`,
        '{{__name__}}',
      ),
    ),
    timeseriesPanel(
      { title: 'Business query errors', description: 'Failed business queries per second (connection, SQL error, timeout, non-numeric value).', unit: units.OpsPerSecond, min: 0 },
      promQuery(rateSum(sel(METRICS.businessQueryErrors.name, scope), [LABELS.query]), `{{${LABELS.query}}}`),
    ),
    timeseriesPanel(
      { title: 'Time since last business query success', description: 'Age of the newest successful run per query.', unit: units.Seconds, thresholds: upperThresholds(300, 900) },
      promQuery(`time() - max by (${LABELS.query}) (${sel(METRICS.businessQueryLastSuccess.name, scope)})`, `{{${LABELS.query}}}`),
    ),
  ];
}
