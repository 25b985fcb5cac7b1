import type { EnvConfig } from '@bitpin/config';
import { firing, series, silent, type PromtoolCase, type RuleIndex } from '../promtool.js';
import { expanded } from './expand.js';

const ns = 'bitpin-task';
const base = { job: 'bitpin-app', namespace: ns };
const req = (pod: string, status: string, values: string) =>
  series('http_server_requests_total', { ...base, pod, method: 'GET', route: '/api/orders/', status_code: status }, values);
const dur = (suffix: 'bucket' | 'count', values: string, le?: string) =>
  series(
    `http_server_request_duration_seconds_${suffix}`,
    { ...base, pod: 'bitpin-app-a', method: 'GET', route: '/api/orders/', status_code: '200', ...(le ? { le } : {}) },
    values,
  );
const probe = (pod: string, target: string, values: string) =>
  series('sidecar_probe_up', { ...base, pod, instance: `${pod}:9102`, target }, values);

export function appCases(_env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  const burnFast = (pct: string) =>
    r.fired('BitpinAppLatencyBudgetBurnFast', 'critical', { namespace: ns }, {
      summary: `bitpin-app burns its latency error budget 14.4x too fast in ${ns}`,
      description: `${pct} of requests over the last 1h took longer than 0.5s (burn threshold 14.4%), and the last 5m confirm it is still happening (SLO: 99% within 0.5s). At this rate the 30-day budget is gone in about 2 days.`,
    });
  const burnSlow = (pct: string) =>
    r.fired('BitpinAppLatencyBudgetBurnSlow', 'warning', { namespace: ns }, {
      summary: `bitpin-app burns its latency error budget 6x too fast in ${ns}`,
      description: `${pct} of requests over the last 6h took longer than 0.5s (burn threshold 6%), and the last 30m confirm it is still happening (SLO: 99% within 0.5s). At this rate the 30-day budget is gone in 5 days.`,
    });
  const probeDown = (name: string, summary: string, description: string) =>
    r.fired(name, 'critical', { namespace: ns }, { summary, description });

  return [
    {
      name: 'BitpinAppHighErrorRate: 10% 5xx fires after 5m of it',
      input_series: [req('bitpin-app-a', '200', '0+90x20'), req('bitpin-app-a', '500', '0+10x20')],
      alert_rule_test: [
        // The series start at 0m: rate()[5m] reaches the 1 request/s guard at 3m (it divides by
        // the whole 5m), so pending at 3m, firing at 8m.
        silent('BitpinAppHighErrorRate', '7m'),
        firing(
          'BitpinAppHighErrorRate',
          '8m',
          r.fired('BitpinAppHighErrorRate', 'critical', { namespace: ns }, {
            summary: `bitpin-app answers more than 5% of requests with 5xx in ${ns}`,
            description:
              '10% of the requests through the metrics sidecar ended with a 5xx status over the last 5 minutes (threshold 5%, at 1 request/s or more).',
          }),
        ),
      ],
    },
    {
      name: 'BitpinAppHighErrorRate: 1% 5xx stays silent',
      input_series: [req('bitpin-app-a', '200', '0+99x20'), req('bitpin-app-a', '503', '0+1x20')],
      alert_rule_test: [silent('BitpinAppHighErrorRate', '20m')],
    },
    {
      name: 'Latency burn: 20% slow requests page after 2m (fast burn), 10% only tickets after 15m (slow burn)',
      input_series: [dur('count', '0+100x30'), dur('bucket', '0+80x30', '0.5'), dur('bucket', '0+100x30', '+Inf')],
      alert_rule_test: [
        // Traffic guard true from 3m (fresh series), for 2m: firing at 5m.
        silent('BitpinAppLatencyBudgetBurnFast', '4m'),
        firing('BitpinAppLatencyBudgetBurnFast', '5m', burnFast('20%')),
      ],
    },
    {
      name: 'Latency burn: 10% slow requests is a slow burn only',
      input_series: [dur('count', '0+100x30'), dur('bucket', '0+90x30', '0.5'), dur('bucket', '0+100x30', '+Inf')],
      alert_rule_test: [
        silent('BitpinAppLatencyBudgetBurnSlow', '17m'),
        firing('BitpinAppLatencyBudgetBurnSlow', '18m', burnSlow('10%')),
        silent('BitpinAppLatencyBudgetBurnFast', '18m'),
      ],
    },
    {
      name: 'Latency burn: a burst that stopped no longer pages although the long window is still high',
      // 50% slow for 30 minutes, then all fast.
      input_series: [dur('count', '0+100x60'), dur('bucket', '0+50x30 1550+100x30', '0.5')],
      alert_rule_test: [
        firing('BitpinAppLatencyBudgetBurnFast', '10m', burnFast('50%')),
        silent('BitpinAppLatencyBudgetBurnFast', '45m'),
      ],
    },
    {
      name: 'Latency burn: 1% slow requests is within the SLO',
      input_series: [dur('count', '0+100x60'), dur('bucket', '0+99x60', '0.5')],
      alert_rule_test: [silent('BitpinAppLatencyBudgetBurnFast', '60m'), silent('BitpinAppLatencyBudgetBurnSlow', '60m')],
    },
    {
      name: 'BitpinAppDown / BitpinAppDatabaseUnreachable: every sidecar fails the probe for 2m',
      input_series: [
        probe('bitpin-app-a', 'app', '1 1 0x10'),
        probe('bitpin-app-b', 'app', '1 1 0x10'),
        probe('bitpin-app-a', 'postgres_rw', '1 1 0x10'),
        probe('bitpin-app-b', 'postgres_rw', '1 1 0x10'),
      ],
      alert_rule_test: [
        silent('BitpinAppDown', '3m'),
        firing(
          'BitpinAppDown',
          '4m',
          probeDown(
            'BitpinAppDown',
            `bitpin-app is down: no sidecar reaches Django in ${ns}`,
            "Every metrics sidecar's probe of Django's health path has failed for 2 minutes: no bitpin-app pod can serve requests.",
          ),
        ),
        silent('BitpinAppDatabaseUnreachable', '3m'),
        firing(
          'BitpinAppDatabaseUnreachable',
          '4m',
          probeDown(
            'BitpinAppDatabaseUnreachable',
            `bitpin-app pods cannot reach the PostgreSQL primary in ${ns}`,
            'Every metrics sidecar has failed to connect to the read-write service and run SELECT 1 for 2 minutes: writes from the app fail.',
          ),
        ),
      ],
    },
    {
      name: 'BitpinAppDown / BitpinAppDatabaseUnreachable: one healthy pod keeps them silent',
      input_series: [
        probe('bitpin-app-a', 'app', '0x10'),
        probe('bitpin-app-b', 'app', '1x10'),
        probe('bitpin-app-a', 'postgres_rw', '0x10'),
        probe('bitpin-app-b', 'postgres_rw', '1x10'),
        probe('bitpin-app-b', 'postgres_ro', '0x10'),
      ],
      alert_rule_test: [silent('BitpinAppDown', '10m'), silent('BitpinAppDatabaseUnreachable', '10m')],
    },
    {
      name: 'BitpinAppSidecarDown: a failed scrape for 5m',
      input_series: [
        series('up', { job: 'bitpin-app', namespace: ns, pod: 'bitpin-app-a', instance: '10.0.0.5:9102' }, '1 1 0x10'),
        series('up', { job: 'bitpin-app', namespace: ns, pod: 'bitpin-app-b', instance: '10.0.0.6:9102' }, '1x12'),
      ],
      alert_rule_test: [
        silent('BitpinAppSidecarDown', '6m'),
        firing(
          'BitpinAppSidecarDown',
          '7m',
          r.fired('BitpinAppSidecarDown', 'warning', { job: 'bitpin-app', namespace: ns, pod: 'bitpin-app-a', instance: '10.0.0.5:9102' }, {
            summary: 'metrics sidecar bitpin-app-a cannot be scraped',
            description: `Prometheus has failed to scrape the metrics sidecar of ${ns}/bitpin-app-a for 5 minutes; in proxy mode the pod likely serves no traffic either.`,
          }),
        ),
      ],
    },
    {
      name: 'BitpinAppMetricsAbsent: no bitpin-app target at all for 10m',
      input_series: [series('up', { job: 'cnpg', namespace: ns, pod: 'bitpin-cluster-1' }, '1x20')],
      alert_rule_test: [
        silent('BitpinAppMetricsAbsent', '9m'),
        firing(
          'BitpinAppMetricsAbsent',
          '10m',
          expanded(r, 'BitpinAppMetricsAbsent', 'critical', {}),
        ),
      ],
    },
    {
      name: 'BitpinAppMetricsAbsent: every sidecar target down for 10m fires too',
      input_series: [
        series('up', { job: 'bitpin-app', namespace: ns, pod: 'bitpin-app-a' }, '0x20'),
        series('up', { job: 'bitpin-app', namespace: ns, pod: 'bitpin-app-b' }, '0x20'),
      ],
      alert_rule_test: [silent('BitpinAppMetricsAbsent', '9m'), firing('BitpinAppMetricsAbsent', '10m', expanded(r, 'BitpinAppMetricsAbsent', 'critical', {}))],
    },
    {
      name: 'BitpinAppMetricsAbsent: one of two sidecars up keeps it silent (BitpinAppSidecarDown is for the other)',
      input_series: [
        series('up', { job: 'bitpin-app', namespace: ns, pod: 'bitpin-app-a' }, '0x20'),
        series('up', { job: 'bitpin-app', namespace: ns, pod: 'bitpin-app-b' }, '1x20'),
      ],
      alert_rule_test: [silent('BitpinAppMetricsAbsent', '20m')],
    },
    {
      name: 'Minimum traffic: 3 of 20 requests failing at 4 a.m. (15% 5xx, 0.07 request/s) does not page',
      input_series: [req('bitpin-app-a', '200', '0+17x20'), req('bitpin-app-a', '500', '0+3x20')].map((x) => ({
        ...x,
        // 20 requests per 5 minutes: 4 per minute in total.
        values: x.values.replace('+17x', '+3.4x').replace('+3x', '+0.6x'),
      })),
      alert_rule_test: [silent('BitpinAppHighErrorRate', '20m'), silent('BitpinAppErrorBudgetBurnFast', '20m')],
    },
    {
      name: 'BitpinAppUpstreamFailures: 30% resets at 0.1 request/s stays quiet (minimum traffic)',
      input_series: [
        req('bitpin-app-a', '200', '0+4x20'),
        req('bitpin-app-a', '502', '0+2x20'),
        series('sidecar_upstream_failures_total', { ...base, pod: 'bitpin-app-a', kind: 'reset' }, '0+2x20'),
      ],
      alert_rule_test: [silent('BitpinAppUpstreamFailures', '20m')],
    },
    {
      name: 'Availability burn: 3% 5xx pages after the fast burn (14.4 x 0.1%) holds 2m, with traffic',
      input_series: [req('bitpin-app-a', '200', '0+97x40'), req('bitpin-app-a', '500', '0+3x40')],
      alert_rule_test: [
        silent('BitpinAppErrorBudgetBurnFast', '4m'),
        firing(
          'BitpinAppErrorBudgetBurnFast',
          '5m',
          expanded(r, 'BitpinAppErrorBudgetBurnFast', 'critical', { namespace: ns }, '3%'),
        ),
        silent('BitpinAppHighErrorRate', '20m'),
      ],
    },
    {
      name: 'Availability burn: 1% 5xx is a slow burn only (6 x 0.1% < 1% < 1.44%)',
      input_series: [req('bitpin-app-a', '200', '0+99x40'), req('bitpin-app-a', '500', '0+1x40')],
      alert_rule_test: [
        silent('BitpinAppErrorBudgetBurnSlow', '17m'),
        firing('BitpinAppErrorBudgetBurnSlow', '18m', expanded(r, 'BitpinAppErrorBudgetBurnSlow', 'warning', { namespace: ns }, '1%')),
        silent('BitpinAppErrorBudgetBurnFast', '18m'),
      ],
    },
    {
      name: 'Availability burn: 0.3% 5xx is within budget (below 6 x 0.1%)',
      input_series: [req('bitpin-app-a', '200', '0+997x40'), req('bitpin-app-a', '500', '0+3x40')],
      alert_rule_test: [silent('BitpinAppErrorBudgetBurnSlow', '40m'), silent('BitpinAppErrorBudgetBurnFast', '40m')],
    },
    {
      name: 'BitpinAppUpstreamFailures: 5% of requests reset by Django',
      input_series: [
        req('bitpin-app-a', '200', '0+95x20'),
        req('bitpin-app-a', '502', '0+5x20'),
        series('sidecar_upstream_failures_total', { ...base, pod: 'bitpin-app-a', kind: 'reset' }, '0+5x20'),
        series('sidecar_upstream_failures_total', { ...base, pod: 'bitpin-app-a', kind: 'timeout' }, '0x20'),
      ],
      alert_rule_test: [
        silent('BitpinAppUpstreamFailures', '7m'),
        firing(
          'BitpinAppUpstreamFailures',
          '8m',
          r.fired('BitpinAppUpstreamFailures', 'warning', { namespace: ns, kind: 'reset' }, {
            summary: 'Django gives no complete response to 5% of requests (reset)',
            description: `The metrics sidecar in ${ns} could not get a complete response from Django for more than 1% of requests over 5 minutes (at 1 request/s or more); failure kind: reset.`,
          }),
        ),
      ],
    },
    {
      name: 'BitpinAppUpstreamFailures: 0.5% stays silent',
      input_series: [
        req('bitpin-app-a', '200', '0+200x20'),
        series('sidecar_upstream_failures_total', { ...base, pod: 'bitpin-app-a', kind: 'timeout' }, '0+1x20'),
      ],
      alert_rule_test: [silent('BitpinAppUpstreamFailures', '20m')],
    },
    {
      name: 'BitpinAppRouteOverflow: at the cap for 15m',
      input_series: [
        series('sidecar_route_templates', { ...base, pod: 'bitpin-app-a' }, '150x5 200x30'),
        series('sidecar_route_templates_limit', { ...base, pod: 'bitpin-app-a' }, '200x35'),
        series('sidecar_route_templates', { ...base, pod: 'bitpin-app-b' }, '150x35'),
        series('sidecar_route_templates_limit', { ...base, pod: 'bitpin-app-b' }, '200x35'),
      ],
      alert_rule_test: [
        silent('BitpinAppRouteOverflow', '20m'),
        firing(
          'BitpinAppRouteOverflow',
          '21m',
          r.fired('BitpinAppRouteOverflow', 'warning', { namespace: ns, pod: 'bitpin-app-a' }, {
            summary: 'Route-template cap reached on bitpin-app-a',
            description: `The metrics sidecar of ${ns}/bitpin-app-a has reached its cap of distinct route templates: new routes are counted under route="__overflow__" and per-route panels lose detail.`,
          }),
        ),
      ],
    },
    {
      name: 'BitpinAppRouteOverflow: below the cap stays silent',
      input_series: [
        series('sidecar_route_templates', { ...base, pod: 'bitpin-app-a' }, '199x35'),
        series('sidecar_route_templates_limit', { ...base, pod: 'bitpin-app-a' }, '200x35'),
      ],
      alert_rule_test: [silent('BitpinAppRouteOverflow', '35m')],
    },
  ];
}
