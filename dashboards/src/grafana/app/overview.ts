import { LABELS, METRICS } from '@bitpin/metrics-contract';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { re, sel } from '../../promql.js';
import { sloMissRecord } from '../../prometheus/app.js';
import { APP_LATENCY_SLO } from '../../slo.js';
import { lowerThresholds, promInstant, statPanel, upperThresholds } from '../common.js';
import { latencyQuantile, rateSum, requests, scope } from './selectors.js';

/** The golden signals at a glance. */
export function overviewPanels() {
  const slo = APP_LATENCY_SLO;
  return [
    statPanel(
      { title: 'Request rate', description: 'Requests per second through the metrics sidecars (selected pods and routes).', unit: units.RequestsPerSecond },
      promInstant(rateSum(requests())),
    ),
    statPanel(
      {
        title: '5xx ratio',
        description: 'Share of requests answered with a 5xx status (alert: BitpinAppHighErrorRate above 5% for 5m).',
        unit: units.PercentUnit,
        thresholds: upperThresholds(0.01, 0.05),
        decimals: 2,
      },
      promInstant(`(${rateSum(requests({ [LABELS.statusCode]: re('5..') }))} or vector(0))\n/\n${rateSum(requests())}`),
    ),
    statPanel(
      {
        title: 'p99 latency',
        description: `99th percentile of the request duration; the SLO is ${slo.objective * 100}% within ${slo.thresholdSeconds}s.`,
        unit: units.Seconds,
        thresholds: upperThresholds(slo.thresholdSeconds, slo.thresholdSeconds * 2),
      },
      promInstant(latencyQuantile(0.99)),
    ),
    statPanel(
      {
        title: `Within ${slo.thresholdSeconds}s (1h)`,
        description: `Share of requests faster than ${slo.thresholdSeconds}s over the last hour (recording rule ${sloMissRecord('1h')}, per namespace). Objective: ${slo.objective * 100}%.`,
        unit: units.PercentUnit,
        thresholds: lowerThresholds(slo.objective - (1 - slo.objective), slo.objective),
        decimals: 2,
      },
      promInstant(`1 - max(${sel(sloMissRecord('1h'), { namespace: scope.namespace })})`),
    ),
    statPanel(
      { title: 'In flight', description: 'Requests being proxied to Django right now.', unit: units.Short },
      promInstant(`sum(${sel(METRICS.httpActiveRequests.name, scope)})`),
    ),
    statPanel(
      {
        title: 'Probes',
        description: "Sidecar probes: Django's health path (app) and SELECT 1 on the PostgreSQL rw and ro services. Worst pod shown.",
        unit: units.NoUnit,
        showName: true,
        thresholds: lowerThresholds(1, 1),
        mappings: [
          { value: 0, text: 'DOWN', color: 'red' },
          { value: 1, text: 'UP', color: 'green' },
        ],
      },
      promInstant(`min by (${LABELS.target}) (${sel(METRICS.probeUp.name, scope)})`, `{{${LABELS.target}}}`),
    ),
  ];
}
