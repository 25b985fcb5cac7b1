import { HTTP_SERVER_DURATION_BUCKETS } from '@bitpin/metrics-contract';

/**
 * The exchange app's latency objective: `objective` of requests complete within
 * `thresholdSeconds`, measured by the sidecar's request-duration histogram. The threshold must be
 * one of the contract's bucket bounds, or the SLI could not be computed exactly.
 */
export interface LatencySlo {
  readonly thresholdSeconds: number;
  readonly objective: number;
}

export const APP_LATENCY_SLO: LatencySlo = { thresholdSeconds: 0.5, objective: 0.99 };

/**
 * The exchange app's availability objective: `objective` of requests through the sidecar end
 * without a 5xx (the sidecar answers 502/504 itself when Django gives no complete response).
 */
export interface AvailabilitySlo {
  readonly objective: number;
}

export const APP_AVAILABILITY_SLO: AvailabilitySlo = { objective: 0.999 };

/**
 * Minimum traffic below which the app's ratio alerts (error rate, upstream failures, both burn
 * rates) stay quiet, in requests per second averaged over the alert's window: 1/s is 300
 * requests in 5 minutes, so three failed requests at 4 a.m. are not 5%. A total outage at low
 * traffic still pages through BitpinAppDown (the sidecar's own probe of Django).
 */
export const APP_MIN_REQUEST_RATE = 1;

/**
 * Multi-window, multi-burn-rate alerting (Google SRE workbook, "Alerting on SLOs"): an alert needs
 * the long window to prove the budget is really burning and the short one to prove it still is.
 */
export const BURN_RATE_WINDOWS = {
  /** 2% of a 30-day budget in 1 hour: page. */
  fast: { long: '1h', short: '5m', factor: 14.4, for: '2m' },
  /** 5% of a 30-day budget in 6 hours: ticket. */
  slow: { long: '6h', short: '30m', factor: 6, for: '15m' },
} as const;

export function validateAvailabilitySlo(slo: AvailabilitySlo): AvailabilitySlo {
  if (!(slo.objective > 0 && slo.objective < 1)) {
    throw new Error(`availability SLO: 'objective' (${slo.objective}) must be between 0 and 1 exclusive, e.g. 0.999`);
  }
  return slo;
}

export function validateLatencySlo(slo: LatencySlo): LatencySlo {
  if (!(HTTP_SERVER_DURATION_BUCKETS as readonly number[]).includes(slo.thresholdSeconds)) {
    throw new Error(
      `latency SLO: 'thresholdSeconds' (${slo.thresholdSeconds}) must be a bucket bound of the sidecar histogram: ${HTTP_SERVER_DURATION_BUCKETS.join(', ')}`,
    );
  }
  if (!(slo.objective > 0 && slo.objective < 1)) {
    throw new Error(`latency SLO: 'objective' (${slo.objective}) must be between 0 and 1 exclusive, e.g. 0.99`);
  }
  return slo;
}

/** The error budget as a ratio (1 - objective), rounded to avoid 0.010000000000000009. */
export function errorBudget(slo: { readonly objective: number }): number {
  return Number((1 - slo.objective).toPrecision(12));
}
