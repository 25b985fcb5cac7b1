/**
 * Names shared by the metrics sidecar (which writes the series) and the dashboards and alerts
 * (which query them). Everything here is a literal type: a dashboard that refers to
 * `METRICS.httpRequests.name` breaks at compile time when the key is renamed, and follows the
 * value when the string changes.
 *
 * This library is a leaf: it imports nothing.
 */

/** Ports of the sidecar container (the same numbers as `SEED.sidecar` in libs/config). */
export const SIDECAR_PORTS = {
  /** Data plane: the app Service targets it in proxy mode. Named `http` in the pod spec. */
  proxy: 8080,
  /** Prometheus endpoint and the sidecar's own probes; never exposed by the app Service. */
  metrics: 9102,
} as const;

/** HTTP paths served on {@link SIDECAR_PORTS.metrics}. */
export const SIDECAR_PATHS = {
  metrics: '/metrics',
  /** Liveness: the event loop answers. */
  health: '/healthz',
  /** Readiness: the proxy listens and is not draining. */
  ready: '/readyz',
} as const;

/**
 * OpenTelemetry's recommended bucket boundaries for `http.server.request.duration`, in seconds
 * (semantic conventions, HTTP metrics).
 */
export const HTTP_SERVER_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
] as const;

/** Label names. Each is used by at least one metric in {@link METRICS}. */
export const LABELS = {
  /** Request method, upper case; methods outside RFC 9110 + PATCH become {@link OTHER_METHOD}. */
  method: 'method',
  /** Route template such as `/api/orders/:id/`, or {@link OVERFLOW_ROUTE} past the cap. */
  route: 'route',
  /**
   * Response status code as sent to the client (499 when the client went away first), bounded:
   * one of {@link STATUS_CODES_KEPT}, else its class (`4xx`, `5xx`, …), see {@link statusCodeLabel}.
   */
  statusCode: 'status_code',
  /** Upstream failure kind ({@link UPSTREAM_FAILURE_KINDS}) or rejected-request kind ({@link REJECTED_REQUEST_KINDS}). */
  kind: 'kind',
  /** Probe target, one of {@link PROBE_TARGETS}. */
  target: 'target',
  /** Name of a business query from the sidecar's queries file. */
  query: 'query',
} as const;

/** The `route` value for every path first seen after the route-template cap was reached. */
export const OVERFLOW_ROUTE = '__overflow__';

/**
 * The `route` value of every request the app answered 404 for whose template has no slot yet:
 * a 404 never claims one of the capped template slots (a scanner cannot use them up). A 404 on
 * a template that already has a slot (claimed by a non-404 answer) counts under that template.
 */
export const UNMATCHED_ROUTE = '__unmatched__';

/** The `method` value for methods that are not standard. */
export const OTHER_METHOD = '_OTHER';

/** Methods that keep their own `method` label value. */
export const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;

/** The status code recorded when the client closed the connection before the response ended. */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * Status codes that keep their own `status_code` value. Every other code is exported as its
 * class (`1xx` … `5xx`; {@link OTHER_STATUS} outside 100–599), so an app answering hundreds of
 * distinct codes adds at most 6 values per route and method. A class value still matches the
 * regexes dashboards and alerts use (`status_code=~"5.."` matches `5xx`).
 */
export const STATUS_CODES_KEPT = [
  100, 101, 200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 406, 408, 409, 410, 411,
  412, 413, 414, 415, 416, 422, 425, 426, 428, 429, 431, 499, 500, 501, 502, 503, 504,
] as const;

/** The `status_code` value of a code outside 100–599. */
export const OTHER_STATUS = 'other';

const KEPT = new Set<number>(STATUS_CODES_KEPT);

/** The `status_code` label value of a response status: the code itself if kept, else its class. */
export function statusCodeLabel(code: number): string {
  if (KEPT.has(code)) return String(code);
  if (!Number.isInteger(code) || code < 100 || code > 599) return OTHER_STATUS;
  return `${Math.floor(code / 100)}xx`;
}

/**
 * Requests the sidecar answered itself, never sent to the app (not in the `http_server_*`
 * series): `bad_request` (an unparsable request line or headers, 400, or a target the app
 * cannot be sent), `headers_too_large` (431), `request_timeout` (headers not complete in time, 408),
 * `method_not_allowed` (`TRACE` and `CONNECT`, 405 — as nginx does).
 */
export const REJECTED_REQUEST_KINDS = ['bad_request', 'headers_too_large', 'request_timeout', 'method_not_allowed'] as const;
export type RejectedRequestKind = (typeof REJECTED_REQUEST_KINDS)[number];

/**
 * Why the sidecar could not get a complete response from the app:
 * `refused` (nothing listens: 502), `timeout` (connect, headers or body idle timeout: 504),
 * `reset` (connection closed or reset by the app: 502 before the headers; after them, any
 * failure but a timeout, the client's response cut short),
 * `other` (anything else: 502).
 */
export const UPSTREAM_FAILURE_KINDS = ['refused', 'timeout', 'reset', 'other'] as const;
export type UpstreamFailureKind = (typeof UPSTREAM_FAILURE_KINDS)[number];

/** What the sidecar probes: Django's health path and the PostgreSQL rw and ro services. */
export const PROBE_TARGETS = ['app', 'postgres_rw', 'postgres_ro'] as const;
export type ProbeTarget = (typeof PROBE_TARGETS)[number];
