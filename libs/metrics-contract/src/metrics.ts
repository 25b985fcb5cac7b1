import { HTTP_SERVER_DURATION_BUCKETS, LABELS } from './http.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One metric of the contract. */
export interface MetricSpec {
  /** The Prometheus metric name (counters end in `_total`, histograms have no suffix). */
  readonly name: string;
  readonly type: MetricType;
  /** The `# HELP` text. */
  readonly help: string;
  readonly labelNames: readonly string[];
  /** Histogram bucket upper bounds, ascending; `+Inf` is implied. */
  readonly buckets?: readonly number[];
}

const HTTP_LABELS = [LABELS.method, LABELS.route, LABELS.statusCode] as const;

/**
 * Every metric the sidecar writes, except the default process metrics
 * ({@link PROCESS_METRICS}) and the business gauges ({@link businessMetricName}).
 */
export const METRICS = {
  httpRequests: {
    name: 'http_server_requests_total',
    type: 'counter',
    help: 'HTTP requests proxied to the app, by method, route template and status code.',
    labelNames: HTTP_LABELS,
  },
  httpRequestDuration: {
    name: 'http_server_request_duration_seconds',
    type: 'histogram',
    help: 'Time from the request reaching the sidecar to the last byte of the response, in seconds.',
    labelNames: HTTP_LABELS,
    buckets: HTTP_SERVER_DURATION_BUCKETS,
  },
  httpActiveRequests: {
    name: 'http_server_active_requests',
    type: 'gauge',
    help: 'Requests currently being proxied to the app.',
    labelNames: [],
  },
  httpRequestBodyBytes: {
    name: 'http_server_request_body_bytes_total',
    type: 'counter',
    help: 'Request body bytes sent to the app, by method, route template and status code.',
    labelNames: HTTP_LABELS,
  },
  httpResponseBodyBytes: {
    name: 'http_server_response_body_bytes_total',
    type: 'counter',
    help: 'Response body bytes received from the app, by method, route template and status code.',
    labelNames: HTTP_LABELS,
  },
  upstreamFailures: {
    name: 'sidecar_upstream_failures_total',
    type: 'counter',
    help: 'Requests for which the app gave no complete response, by kind (refused, timeout, reset, other).',
    labelNames: [LABELS.kind],
  },
  rejectedRequests: {
    name: 'sidecar_rejected_requests_total',
    type: 'counter',
    help: 'Requests the sidecar answered itself without sending them to the app, by kind (bad_request, headers_too_large, request_timeout, method_not_allowed).',
    labelNames: [LABELS.kind],
  },
  routeTemplates: {
    name: 'sidecar_route_templates',
    type: 'gauge',
    help: 'Distinct route templates in use; new ones count under the overflow route once the cap is reached (404s never claim one).',
    labelNames: [],
  },
  routeTemplatesLimit: {
    name: 'sidecar_route_templates_limit',
    type: 'gauge',
    help: 'The configured cap of distinct route templates.',
    labelNames: [],
  },
  probeUp: {
    name: 'sidecar_probe_up',
    type: 'gauge',
    help: '1 when the last probe of the target succeeded, 0 otherwise.',
    labelNames: [LABELS.target],
  },
  probeDuration: {
    name: 'sidecar_probe_duration_seconds',
    type: 'histogram',
    help: 'Duration of successful probes, in seconds (PostgreSQL: connect, SELECT 1, disconnect).',
    labelNames: [LABELS.target],
    buckets: HTTP_SERVER_DURATION_BUCKETS,
  },
  businessQueryErrors: {
    name: 'sidecar_business_query_errors_total',
    type: 'counter',
    help: 'Business queries that failed (connection, SQL error, statement timeout or a non-numeric value).',
    labelNames: [LABELS.query],
  },
  businessQueryLastSuccess: {
    name: 'sidecar_business_query_last_success_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time of the last successful run of a business query.',
    labelNames: [LABELS.query],
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;
export type MetricName = (typeof METRICS)[MetricKey]['name'];
type HistogramKey = { [K in MetricKey]: (typeof METRICS)[K]['type'] extends 'histogram' ? K : never }[MetricKey];

/** The series names of a histogram: `<name>_bucket`, `<name>_sum`, `<name>_count`. */
export function histogramSeries<K extends HistogramKey>(
  key: K,
): { bucket: `${(typeof METRICS)[K]['name']}_bucket`; sum: `${(typeof METRICS)[K]['name']}_sum`; count: `${(typeof METRICS)[K]['name']}_count` } {
  const name = METRICS[key].name;
  return { bucket: `${name}_bucket`, sum: `${name}_sum`, count: `${name}_count` };
}

/** Default Node process metrics the sidecar also exports (prom-client's default collectors, no prefix). */
export const PROCESS_METRICS = {
  cpuSeconds: 'process_cpu_seconds_total',
  residentMemory: 'process_resident_memory_bytes',
  heapUsed: 'nodejs_heap_size_used_bytes',
  eventLoopLagP99: 'nodejs_eventloop_lag_p99_seconds',
} as const;

/**
 * prom-client default gauges the sidecar does not export: gauges named `*_total` fail
 * `promtool check metrics`, and each is only the sum of a per-type gauge that stays
 * (`nodejs_active_handles_total` is `sum(nodejs_active_handles)`, and so on).
 */
export const DROPPED_PROCESS_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/** Prefix of the gauges defined by the queries file: query `open_orders` → `bitpin_business_open_orders`. */
export const BUSINESS_METRIC_PREFIX = 'bitpin_business_';

/** Allowed business query names (they become part of a metric name). */
export const BUSINESS_QUERY_NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

export function businessMetricName<N extends string>(queryName: N): `${typeof BUSINESS_METRIC_PREFIX}${N}` {
  if (!BUSINESS_QUERY_NAME_PATTERN.test(queryName)) {
    throw new Error(`business query name "${queryName}" must match ${String(BUSINESS_QUERY_NAME_PATTERN)}`);
  }
  return `${BUSINESS_METRIC_PREFIX}${queryName}`;
}
