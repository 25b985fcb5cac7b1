import { LABELS } from '@bitpin/metrics-contract';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { sel } from '../../promql.js';
import { sloMissRecord, SLO_WINDOWS } from '../../prometheus/app.js';
import { APP_LATENCY_SLO, BURN_RATE_WINDOWS, errorBudget } from '../../slo.js';
import { promQuery, thresholds, timeseriesPanel, upperThresholds } from '../common.js';
import { latencyQuantile, scope } from './selectors.js';

/** Latency: quantiles overall and by route, and the SLO's burn. */
export function latencyPanels() {
  const slo = APP_LATENCY_SLO;
  const budget = errorBudget(slo);
  const sloThresholds = upperThresholds(slo.thresholdSeconds, slo.thresholdSeconds * 2);
  return [
    timeseriesPanel(
      { title: 'Latency p50 / p95 / p99', description: 'Request duration quantiles, all selected routes.', unit: units.Seconds, thresholds: sloThresholds },
      promQuery(latencyQuantile(0.5), 'p50'),
      promQuery(latencyQuantile(0.95), 'p95'),
      promQuery(latencyQuantile(0.99), 'p99'),
    ),
    timeseriesPanel(
      { title: 'p95 by route', description: '95th percentile of the request duration per route template.', unit: units.Seconds, thresholds: sloThresholds },
      promQuery(latencyQuantile(0.95, [LABELS.route]), `{{${LABELS.route}}}`),
    ),
    timeseriesPanel(
      { title: 'p99 by route', description: '99th percentile of the request duration per route template.', unit: units.Seconds, thresholds: sloThresholds },
      promQuery(latencyQuantile(0.99, [LABELS.route]), `{{${LABELS.route}}}`),
    ),
    timeseriesPanel(
      {
        title: `Latency SLO: share slower than ${slo.thresholdSeconds}s`,
        description: `Recorded SLO-miss ratios per window. Burn-rate alerts: fast (${BURN_RATE_WINDOWS.fast.long} and ${BURN_RATE_WINDOWS.fast.short} above ${BURN_RATE_WINDOWS.fast.factor}x the ${budget * 100}% budget) and slow (${BURN_RATE_WINDOWS.slow.long} and ${BURN_RATE_WINDOWS.slow.short} above ${BURN_RATE_WINDOWS.slow.factor}x).`,
        unit: units.PercentUnit,
        min: 0,
        thresholds: thresholds(
          [null, 'green'],
          [Number((BURN_RATE_WINDOWS.slow.factor * budget).toPrecision(6)), 'orange'],
          [Number((BURN_RATE_WINDOWS.fast.factor * budget).toPrecision(6)), 'red'],
        ),
      },
      ...SLO_WINDOWS.map((w) => promQuery(`max(${sel(sloMissRecord(w), { namespace: scope.namespace })})`, w)),
    ),
  ];
}
