import { describe, expect, it } from 'vitest';
import {
  BUSINESS_METRIC_PREFIX,
  DROPPED_PROCESS_METRICS,
  HTTP_SERVER_DURATION_BUCKETS,
  LABELS,
  METRICS,
  OTHER_STATUS,
  OVERFLOW_ROUTE,
  PROBE_TARGETS,
  REJECTED_REQUEST_KINDS,
  SIDECAR_PATHS,
  SIDECAR_PORTS,
  STATUS_CODES_KEPT,
  UNMATCHED_ROUTE,
  UPSTREAM_FAILURE_KINDS,
  businessMetricName,
  histogramSeries,
  statusCodeLabel,
  type MetricSpec,
} from '../src/index.js';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const specs: MetricSpec[] = Object.values(METRICS);

describe('metric contract', () => {
  it('names every metric once, with valid Prometheus names and conventional suffixes', () => {
    const names = specs.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of specs) {
      expect(m.name).toMatch(METRIC_NAME);
      expect(m.help.length).toBeGreaterThan(10);
      if (m.type === 'counter') expect(m.name).toMatch(/_total$/);
      else expect(m.name).not.toMatch(/_total$/);
      if (m.type === 'histogram') expect(m.name).not.toMatch(/_(bucket|sum|count)$/);
    }
  });

  it('uses only label names declared in LABELS, never reserved ones', () => {
    const declared = new Set<string>(Object.values(LABELS));
    for (const m of specs) {
      for (const l of m.labelNames) {
        expect(l).toMatch(LABEL_NAME);
        expect(l.startsWith('__')).toBe(false);
        expect(['le', 'quantile']).not.toContain(l);
        expect(declared.has(l)).toBe(true);
      }
    }
  });

  it('uses the OpenTelemetry HTTP server buckets, ascending', () => {
    expect(HTTP_SERVER_DURATION_BUCKETS).toEqual([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
    expect(METRICS.httpRequestDuration.buckets).toBe(HTTP_SERVER_DURATION_BUCKETS);
    for (const m of specs.filter((s) => s.type === 'histogram')) {
      const b = m.buckets ?? [];
      expect(b.length).toBeGreaterThan(0);
      b.forEach((v, i) => i > 0 && expect(v).toBeGreaterThan(b[i - 1] as number));
    }
  });

  it('gives the RED series names dashboards query', () => {
    expect(METRICS.httpRequests.name).toBe('http_server_requests_total');
    expect(histogramSeries('httpRequestDuration')).toEqual({
      bucket: 'http_server_request_duration_seconds_bucket',
      sum: 'http_server_request_duration_seconds_sum',
      count: 'http_server_request_duration_seconds_count',
    });
    expect(METRICS.httpRequests.labelNames).toEqual(['method', 'route', 'status_code']);
  });

  it('fixes ports, paths and label values the pod spec and alerts rely on', () => {
    expect(SIDECAR_PORTS).toEqual({ proxy: 8080, metrics: 9102 });
    expect(SIDECAR_PATHS).toEqual({ metrics: '/metrics', health: '/healthz', ready: '/readyz' });
    expect(OVERFLOW_ROUTE).toBe('__overflow__');
    expect(UPSTREAM_FAILURE_KINDS).toEqual(['refused', 'timeout', 'reset', 'other']);
    expect(PROBE_TARGETS).toEqual(['app', 'postgres_rw', 'postgres_ro']);
  });

  it('derives business metric names from query names', () => {
    expect(businessMetricName('open_orders')).toBe(`${BUSINESS_METRIC_PREFIX}open_orders`);
  });

  it('fails for a business query name that is not a metric-name fragment', () => {
    expect(() => businessMetricName('Open-Orders')).toThrow(/"Open-Orders" must match/);
  });
});

describe('bounded label values', () => {
  it('keeps common status codes and exports every other code as its class', () => {
    // GIVEN every integer code from 0 to 999
    const values = new Set<string>();
    for (let code = 0; code < 1000; code++) values.add(statusCodeLabel(code));
    // THEN the kept codes, 5 classes and `other`: a bounded set
    expect(values.size).toBe(STATUS_CODES_KEPT.length + 5 + 1);
    expect(statusCodeLabel(200)).toBe('200');
    expect(statusCodeLabel(499)).toBe('499');
    expect(statusCodeLabel(418)).toBe('4xx');
    expect(statusCodeLabel(599)).toBe('5xx');
    expect(statusCodeLabel(600)).toBe(OTHER_STATUS);
    expect(statusCodeLabel(99)).toBe(OTHER_STATUS);
    // a class value still matches the alerts' 5.. regex, and not 4..
    expect(/^5..$/.test(statusCodeLabel(555))).toBe(true);
    expect(/^4..$/.test(statusCodeLabel(555))).toBe(false);
  });

  it('fixes the route and kind values the dashboards and alerts rely on', () => {
    expect(UNMATCHED_ROUTE).toBe('__unmatched__');
    expect(REJECTED_REQUEST_KINDS).toEqual(['bad_request', 'headers_too_large', 'request_timeout', 'method_not_allowed']);
    expect(METRICS.rejectedRequests.name).toBe('sidecar_rejected_requests_total');
    for (const n of DROPPED_PROCESS_METRICS) expect(n).toMatch(/^nodejs_.*_total$/);
  });
});
