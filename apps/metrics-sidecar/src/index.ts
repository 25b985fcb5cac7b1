/**
 * The metrics sidecar as a library, for tests and the benchmark. The container runs
 * `dist/main.js`; libs/app wires it by the env var names in README.md and the ports and paths of
 * @bitpin/metrics-contract, not by importing this package.
 */
export { acceptsGzip, buildApp, listen, type BuildOptions, type Listening } from './app.js';
export {
  BUSINESS_QUERY_MAX_ROWS,
  ConfigError,
  ENV_VARS,
  loadConfig,
  type BusinessQuery,
  type PgSslMode,
  type PgTarget,
  type RouteRule,
  type SidecarConfig,
  type SidecarMode,
} from './config.js';
export { ExpositionWriter, HttpMetrics, SidecarRegistry, methodIndex } from './http-metrics.js';
export { createLogger } from './logger.js';
export { Probes } from './probes.js';
export { ProxyServer, classify, type DrainResult, type ProxyOptions } from './proxy.js';
export { OVERFLOW_ROUTE_ID, RouteTemplates, UNMATCHED_ROUTE_ID, originForm, pathOf } from './route-templates.js';
