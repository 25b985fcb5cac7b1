import { LABELS, METRICS } from '@bitpin/metrics-contract';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { re, sel } from '../../promql.js';
import { promQuery, timeseriesPanel, upperThresholds } from '../common.js';
import { rateSum, requests, routeScope, scope } from './selectors.js';

/** Rate: requests by route, status and bytes. */
export function trafficPanels() {
  return [
    timeseriesPanel(
      { title: 'Requests by route', description: 'Requests per second by route template.', unit: units.RequestsPerSecond, stacked: true },
      promQuery(rateSum(requests(), [LABELS.route]), `{{${LABELS.route}}}`),
    ),
    timeseriesPanel(
      { title: 'Requests by status code', description: 'Requests per second by response status (499: client went away).', unit: units.RequestsPerSecond, stacked: true },
      promQuery(rateSum(requests(), [LABELS.statusCode]), `{{${LABELS.statusCode}}}`),
    ),
    timeseriesPanel(
      { title: 'Body throughput', description: 'Request bodies sent to Django and response bodies received from it.', unit: units.BytesPerSecondSI },
      promQuery(rateSum(sel(METRICS.httpRequestBodyBytes.name, routeScope)), 'request bodies'),
      promQuery(rateSum(sel(METRICS.httpResponseBodyBytes.name, routeScope)), 'response bodies'),
    ),
  ];
}

/** Errors: 5xx ratio by route and what the upstream did. */
export function errorPanels() {
  return [
    timeseriesPanel(
      {
        title: '5xx ratio by route',
        description: 'Share of requests per route answered with a 5xx status.',
        unit: units.PercentUnit,
        thresholds: upperThresholds(0.01, 0.05),
        min: 0,
      },
      promQuery(
        `${rateSum(requests({ [LABELS.statusCode]: re('5..') }), [LABELS.route])}\n/\n${rateSum(requests(), [LABELS.route])}`,
        `{{${LABELS.route}}}`,
      ),
    ),
    timeseriesPanel(
      {
        title: 'Upstream failures by kind',
        description: 'Requests for which Django gave no complete response: refused (502), timeout (504), reset, other.',
        unit: units.RequestsPerSecond,
        stacked: true,
      },
      promQuery(rateSum(sel(METRICS.upstreamFailures.name, scope), [LABELS.kind]), `{{${LABELS.kind}}}`),
    ),
  ];
}
