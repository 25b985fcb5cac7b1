import { histogramSeries, LABELS, METRICS } from '@bitpin/metrics-contract';
import { JOBS, sel, type Matcher } from '../../promql.js';
import { varMatch } from '../common.js';

/** The sidecar's series on this dashboard: job, and the namespace / pod / route variables. */
export const scope = { job: JOBS.app, namespace: varMatch('namespace'), pod: varMatch('pod') };
export const routeScope = { ...scope, [LABELS.route]: varMatch('route') };

export const requests = (extra: Record<string, Matcher> = {}) => sel(METRICS.httpRequests.name, { ...routeScope, ...extra });
export const durationBucket = sel(histogramSeries('httpRequestDuration').bucket, routeScope);

/** `sum by (…) (rate(<series>[$__rate_interval]))`; `by` empty for a plain sum. */
export function rateSum(series: string, by: readonly string[] = []): string {
  return `sum${by.length ? ` by (${by.join(', ')})` : ''} (rate(${series}[$__rate_interval]))`;
}

/** A latency quantile from the request-duration histogram, grouped by `by`. */
export function latencyQuantile(q: number, by: readonly string[] = []): string {
  return `histogram_quantile(${q}, ${rateSum(durationBucket, [...by, 'le'])})`;
}
