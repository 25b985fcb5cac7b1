import { SEED, type EnvConfig } from '@bitpin/config';
import { histogramSeries, LABELS, METRICS, OVERFLOW_ROUTE } from '@bitpin/metrics-contract';
import { JOBS, leMatcher, re, sel } from '../promql.js';
import {
  APP_AVAILABILITY_SLO,
  APP_LATENCY_SLO,
  APP_MIN_REQUEST_RATE,
  BURN_RATE_WINDOWS,
  errorBudget,
  validateAvailabilitySlo,
  validateLatencySlo,
} from '../slo.js';
import { alert, record, ruleFile, ruleGroup, type PrometheusRuleFile } from './builder.js';

const job = JOBS.app;
const requests = (extra: Record<string, ReturnType<typeof re> | string> = {}) =>
  sel(METRICS.httpRequests.name, { job, ...extra });
const duration = histogramSeries('httpRequestDuration');

/** Name of the recorded SLO-miss ratio over `window`. */
export const sloMissRecord = (window: string) => `bitpin_app:http_latency_slo_miss:ratio_rate${window}`;
/** Name of the recorded request rate over `window`. */
export const requestRateRecord = (window: string) => `bitpin_app:http_requests:rate${window}`;
/** Name of the recorded 5xx ratio over `window` (the availability SLI's complement). */
export const errorRatioRecord = (window: string) => `bitpin_app:http_errors:ratio_rate${window}`;

/** `and` clause of every app ratio alert: at least {@link APP_MIN_REQUEST_RATE} requests/s over `window`. */
export function minTrafficGuard(window: string): string {
  return `and on (namespace)
sum by (namespace) (rate(${requests()}[${window}])) >= ${APP_MIN_REQUEST_RATE}`;
}

/** Windows the SLO recording rules cover (every window a burn-rate alert uses). */
export const SLO_WINDOWS = [
  ...new Set(Object.values(BURN_RATE_WINDOWS).flatMap((w) => [w.short, w.long])),
] as const;

/** The exchange app as seen by its metrics sidecar: errors, latency SLO, availability. */
export function appRules(_env: EnvConfig): PrometheusRuleFile {
  const slo = validateLatencySlo(APP_LATENCY_SLO);
  const budget = errorBudget(slo);
  const avail = validateAvailabilitySlo(APP_AVAILABILITY_SLO);
  const availBudget = errorBudget(avail);
  const le = leMatcher(slo.thresholdSeconds);
  const pct = (r: number) => `${Number((r * 100).toPrecision(6))}%`;

  const recordings = SLO_WINDOWS.flatMap((w) => [
    record({ record: requestRateRecord(w), expr: `sum by (namespace) (rate(${requests()}[${w}]))` }),
    record({
      record: sloMissRecord(w),
      expr: `1 - (
  sum by (namespace) (rate(${sel(duration.bucket, { job, le })}[${w}]))
  /
  sum by (namespace) (rate(${sel(duration.count, { job })}[${w}]))
)`,
    }),
    record({
      record: errorRatioRecord(w),
      expr: `sum by (namespace) (rate(${requests({ [LABELS.statusCode]: re('5..') })}[${w}]))
/
sum by (namespace) (rate(${requests()}[${w}]))`,
    }),
  ]);

  // Both windows over the limit, and enough traffic over the long window (requestRateRecord).
  // Both windows over the limit, and at least APP_MIN_REQUEST_RATE over the last 5 minutes (the
  // latency SLI counts the histogram's requests, the availability SLI the request counter).
  const latencyTraffic = `sum by (namespace) (rate(${sel(duration.count, { job })}[5m]))`;
  const burn = (speed: keyof typeof BURN_RATE_WINDOWS, ratio: (w: string) => string = sloMissRecord, b = budget, traffic = latencyTraffic) => {
    const w = BURN_RATE_WINDOWS[speed];
    const limit = Number((w.factor * b).toPrecision(12));
    return `${ratio(w.long)} > ${limit}
and
${ratio(w.short)} > ${limit}
and on (namespace)
${traffic} >= ${APP_MIN_REQUEST_RATE}`;
  };
  const availDescription = (speed: keyof typeof BURN_RATE_WINDOWS, outlook: string) => {
    const w = BURN_RATE_WINDOWS[speed];
    return `{{ $value | humanizePercentage }} of requests over the last ${w.long} ended with a 5xx (burn threshold ${pct(w.factor * availBudget)}), and the last ${w.short} confirm it is still happening (SLO: ${pct(avail.objective)} without 5xx). ${outlook}`;
  };

  // $value is the left operand of `and`: the long window's ratio.
  const burnDescription = (speed: keyof typeof BURN_RATE_WINDOWS, outlook: string) => {
    const w = BURN_RATE_WINDOWS[speed];
    return `{{ $value | humanizePercentage }} of requests over the last ${w.long} took longer than ${slo.thresholdSeconds}s (burn threshold ${pct(w.factor * budget)}), and the last ${w.short} confirm it is still happening (SLO: ${pct(slo.objective)} within ${slo.thresholdSeconds}s). ${outlook}`;
  };

  const alerts = [
    alert({
      name: 'BitpinAppHighErrorRate',
      expr: `sum by (namespace) (rate(${requests({ [LABELS.statusCode]: re('5..') })}[5m]))
/
sum by (namespace) (rate(${requests()}[5m]))
> 0.05
${minTrafficGuard('5m')}`,
      for: '5m',
      severity: 'critical',
      summary: 'bitpin-app answers more than 5% of requests with 5xx in {{ $labels.namespace }}',
      description: `{{ $value | humanizePercentage }} of the requests through the metrics sidecar ended with a 5xx status over the last 5 minutes (threshold 5%, at ${APP_MIN_REQUEST_RATE} request/s or more).`,
    }),
    alert({
      name: 'BitpinAppErrorBudgetBurnFast',
      expr: burn('fast', errorRatioRecord, availBudget, requestRateRecord('5m')),
      for: BURN_RATE_WINDOWS.fast.for,
      severity: 'critical',
      summary: 'bitpin-app burns its availability error budget 14.4x too fast in {{ $labels.namespace }}',
      description: availDescription('fast', 'At this rate the 30-day budget is gone in about 2 days.'),
    }),
    alert({
      name: 'BitpinAppErrorBudgetBurnSlow',
      expr: burn('slow', errorRatioRecord, availBudget, requestRateRecord('5m')),
      for: BURN_RATE_WINDOWS.slow.for,
      severity: 'warning',
      summary: 'bitpin-app burns its availability error budget 6x too fast in {{ $labels.namespace }}',
      description: availDescription('slow', 'At this rate the 30-day budget is gone in 5 days.'),
    }),
    alert({
      name: 'BitpinAppLatencyBudgetBurnFast',
      expr: burn('fast'),
      for: BURN_RATE_WINDOWS.fast.for,
      severity: 'critical',
      summary: 'bitpin-app burns its latency error budget 14.4x too fast in {{ $labels.namespace }}',
      description: burnDescription('fast', 'At this rate the 30-day budget is gone in about 2 days.'),
    }),
    alert({
      name: 'BitpinAppLatencyBudgetBurnSlow',
      expr: burn('slow'),
      for: BURN_RATE_WINDOWS.slow.for,
      severity: 'warning',
      summary: 'bitpin-app burns its latency error budget 6x too fast in {{ $labels.namespace }}',
      description: burnDescription('slow', 'At this rate the 30-day budget is gone in 5 days.'),
    }),
    alert({
      name: 'BitpinAppDown',
      expr: `max by (namespace) (${sel(METRICS.probeUp.name, { job, [LABELS.target]: 'app' })}) == 0`,
      for: '2m',
      severity: 'critical',
      summary: 'bitpin-app is down: no sidecar reaches Django in {{ $labels.namespace }}',
      description:
        "Every metrics sidecar's probe of Django's health path has failed for 2 minutes: no bitpin-app pod can serve requests.",
    }),
    alert({
      name: 'BitpinAppDatabaseUnreachable',
      expr: `max by (namespace) (${sel(METRICS.probeUp.name, { job, [LABELS.target]: 'postgres_rw' })}) == 0`,
      for: '2m',
      severity: 'critical',
      summary: 'bitpin-app pods cannot reach the PostgreSQL primary in {{ $labels.namespace }}',
      description:
        'Every metrics sidecar has failed to connect to the read-write service and run SELECT 1 for 2 minutes: writes from the app fail.',
    }),
    alert({
      name: 'BitpinAppSidecarDown',
      expr: `${sel('up', { job })} == 0`,
      for: '5m',
      severity: 'warning',
      summary: 'metrics sidecar {{ $labels.pod }} cannot be scraped',
      description:
        'Prometheus has failed to scrape the metrics sidecar of {{ $labels.namespace }}/{{ $labels.pod }} for 5 minutes; in proxy mode the pod likely serves no traffic either.',
    }),
    alert({
      name: 'BitpinAppMetricsAbsent',
      expr: `absent(${sel('up', { job })} == 1)`,
      for: '10m',
      severity: 'critical',
      labels: { job, namespace: SEED.namespaces.app },
      summary: 'No bitpin-app metrics sidecar is being scraped',
      description: `Prometheus has had no up target in job "${job}" for 10 minutes: either no bitpin-app pod runs, every sidecar is unreachable, or scraping is misconfigured. Every bitpin-app alert is blind until this is fixed.`,
    }),
    alert({
      name: 'BitpinAppUpstreamFailures',
      expr: `sum by (namespace, ${LABELS.kind}) (rate(${sel(METRICS.upstreamFailures.name, { job })}[5m]))
/ on (namespace) group_left ()
sum by (namespace) (rate(${requests()}[5m]))
> 0.01
${minTrafficGuard('5m')}`,
      for: '5m',
      severity: 'warning',
      summary: 'Django gives no complete response to {{ $value | humanizePercentage }} of requests ({{ $labels.kind }})',
      description:
        `The metrics sidecar in {{ $labels.namespace }} could not get a complete response from Django for more than 1% of requests over 5 minutes (at ${APP_MIN_REQUEST_RATE} request/s or more); failure kind: {{ $labels.kind }}.`,
    }),
    alert({
      name: 'BitpinAppRouteOverflow',
      expr: `max by (namespace, pod) (${sel(METRICS.routeTemplates.name, { job })})
- on (namespace, pod)
max by (namespace, pod) (${sel(METRICS.routeTemplatesLimit.name, { job })})
>= 0`,
      for: '15m',
      severity: 'warning',
      summary: 'Route-template cap reached on {{ $labels.pod }}',
      description: `The metrics sidecar of {{ $labels.namespace }}/{{ $labels.pod }} has reached its cap of distinct route templates: new routes are counted under route="${OVERFLOW_ROUTE}" and per-route panels lose detail.`,
    }),
  ];

  // One group: Prometheus evaluates a group's rules in order, so the burn-rate alerts always read
  // the SLO ratios recorded at the same evaluation (separate groups would lag by up to one interval).
  return ruleFile('bitpin-app.rules.yaml', [ruleGroup('bitpin-app', [...recordings, ...alerts])]);
}
