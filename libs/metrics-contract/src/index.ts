/**
 * @bitpin/metrics-contract: the names the metrics sidecar writes and the dashboards query.
 * A leaf library (it imports nothing), so any project may depend on it.
 */
export * from './http.js';
export * from './metrics.js';
