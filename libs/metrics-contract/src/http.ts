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
  /** Response status code as sent to the client; 499 when the client went away first. */
  statusCode: 'status_code',
  /** Upstream failure kind, one of {@link UPSTREAM_FAILURE_KINDS}. */
  kind: 'kind',
  /** Probe target, one of {@link PROBE_TARGETS}. */
  target: 'target',
  /** Name of a business query from the sidecar's queries file. */
  query: 'query',
} as const;

/** The `route` value for every path first seen after the route-template cap was reached. */
export const OVERFLOW_ROUTE = '__overflow__';

/** The `method` value for methods that are not standard. */
export const OTHER_METHOD = '_OTHER';

/** Methods that keep their own `method` label value. */
export const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;

/** The status code recorded when the client closed the connection before the response ended. */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * Why the sidecar could not get a complete response from the app:
 * `refused` (nothing listens: 502), `timeout` (connect, headers or body idle timeout: 504),
 * `reset` (connection closed or reset by the app: 502, or a truncated body if headers were sent),
 * `other` (anything else: 502).
 */
export const UPSTREAM_FAILURE_KINDS = ['refused', 'timeout', 'reset', 'other'] as const;
export type UpstreamFailureKind = (typeof UPSTREAM_FAILURE_KINDS)[number];

/** What the sidecar probes: Django's health path and the PostgreSQL rw and ro services. */
export const PROBE_TARGETS = ['app', 'postgres_rw', 'postgres_ro'] as const;
export type ProbeTarget = (typeof PROBE_TARGETS)[number];
