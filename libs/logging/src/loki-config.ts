import { SEED, parseDuration, parseQuantity, type EnvConfig } from '@bitpin/config';
import { lokiUrl } from '@bitpin/k8s';

/** In-cluster URL of Loki's HTTP API (the agent pushes to it, both Grafanas query it); one definition, in @bitpin/k8s. */
export { lokiUrl };

/** Where Loki keeps its data: every path below is on the StatefulSet's PersistentVolumeClaim. */
export const LOKI_DATA_DIR = '/var/loki';
/** Where the generated config is mounted (ConfigMap `loki`, key `loki.yaml`). */
export const LOKI_CONFIG_DIR = '/etc/loki/config';
export const LOKI_CONFIG_FILE = 'loki.yaml';

/**
 * First day of the one schema period (TSDB, schema v13, 24h index). Never edit it once Loki has
 * data: a schema change is a NEW entry with a future `from` date, appended after this one.
 */
export const LOKI_SCHEMA_FROM = '2024-04-01';

/** `limits_config` keys Loki 3.x removed; it refuses to start when they are present. */
export const LOKI_REMOVED_LIMITS: Readonly<Record<string, string>> = {
  enforce_metric_name: 'removed in Loki 3.0',
  max_look_back_period: 'removed in Loki 3.0 (use max_query_lookback)',
};

/** Loki's per-tenant limits that this platform sets (`limits_config`). */
export interface LokiLimits {
  /** How long logs are kept; the compactor deletes older chunks (Loki minimum: 24h). */
  readonly retention_period: string;
  /** Queries never reach past retention. */
  readonly max_query_lookback: string;
  readonly reject_old_samples: boolean;
  readonly reject_old_samples_max_age: string;
  /** Per-tenant ingestion rate in MB/s (one tenant: `fake`, auth is off). */
  readonly ingestion_rate_mb: number;
  readonly ingestion_burst_size_mb: number;
  readonly per_stream_rate_limit: string;
  readonly per_stream_rate_limit_burst: string;
  readonly max_global_streams_per_user: number;
  readonly max_entries_limit_per_query: number;
  readonly max_query_series: number;
  readonly query_timeout: string;
  /** Needs TSDB + schema v13 (both set); the agent may attach structured metadata. */
  readonly allow_structured_metadata: boolean;
  /** Lets Grafana draw the log-volume histogram. */
  readonly volume_enabled: boolean;
  readonly [key: string]: unknown;
}

/**
 * The limits for an env. Rates scale with Loki's memory limit (1 MB/s per 256 MiB, at least
 * 2 MB/s; burst twice that) so a bigger Loki (prod: 2Gi) accepts more before it answers 429.
 * Retention is the env's `logging.loki.retentionPeriod` (dev 72h, staging and prod 744h).
 */
export function lokiLimits(env: EnvConfig): LokiLimits {
  const memMiB = Math.floor((parseQuantity(env.logging.loki.resources.limits.memory) ?? 2 ** 30) / 2 ** 20);
  const rate = Math.max(2, Math.floor(memMiB / 256));
  return {
    retention_period: env.logging.loki.retentionPeriod,
    max_query_lookback: env.logging.loki.retentionPeriod,
    reject_old_samples: true,
    reject_old_samples_max_age: '168h',
    ingestion_rate_mb: rate,
    ingestion_burst_size_mb: rate * 2,
    per_stream_rate_limit: '3MB',
    per_stream_rate_limit_burst: '15MB',
    max_global_streams_per_user: 5000,
    max_entries_limit_per_query: 5000,
    max_query_series: 500,
    query_timeout: '1m',
    allow_structured_metadata: true,
    volume_enabled: true,
  };
}

export interface LokiConfigOptions {
  /**
   * Per-tenant limits merged over {@link lokiLimits}.
   * @default - the env's limits
   */
  readonly limits?: Readonly<Record<string, unknown>>;
  /** @default 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** The Loki config as plain data (the StatefulSet's ConfigMap holds its YAML). */
export type LokiConfig = Record<string, unknown> & {
  auth_enabled: boolean;
  server: { http_listen_port: number; grpc_listen_port: number; log_level: string };
  common: Record<string, unknown>;
  schema_config: { configs: Array<Record<string, unknown>> };
  storage_config: Record<string, unknown>;
  compactor: {
    working_directory: string;
    compaction_interval: string;
    retention_enabled: boolean;
    retention_delete_delay: string;
    retention_delete_worker_count: number;
    delete_request_store: string;
  };
  limits_config: LokiLimits;
};

/**
 * Loki 3.x single binary (target `all`): HTTP on `logging.loki.port` (3100), gRPC on 9095, TSDB
 * schema v13 with a 24h index on the filesystem under {@link LOKI_DATA_DIR} (the PVC), and
 * retention enforced by the compactor. Loki 3.x refuses to start with `retention_enabled` but
 * no `delete_request_store`, so both are always set together here.
 *
 * Throws when `limits` sets a key Loki 3.x removed or a retention under Loki's 24h minimum.
 */
export function lokiConfig(env: EnvConfig, options: LokiConfigOptions = {}): LokiConfig {
  const limits = { ...lokiLimits(env), ...options.limits } as LokiLimits;
  for (const key of Object.keys(options.limits ?? {})) {
    const why = LOKI_REMOVED_LIMITS[key];
    if (why) throw new Error(`lokiConfig: 'limits.${key}' cannot be set: ${why}`);
  }
  const retention = parseDuration(String(limits.retention_period));
  if (retention === undefined || retention < 24 * 3600) {
    throw new Error(`lokiConfig: 'limits.retention_period' (${String(limits.retention_period)}) must be a duration of at least 24h (Loki's compactor minimum)`);
  }
  const memMiB = Math.floor((parseQuantity(env.logging.loki.resources.limits.memory) ?? 2 ** 30) / 2 ** 20);
  const d = LOKI_DATA_DIR;
  return {
    auth_enabled: false,
    server: {
      http_listen_port: env.logging.loki.port,
      grpc_listen_port: SEED.logging.loki.grpcPort,
      log_level: options.logLevel ?? 'info',
    },
    common: {
      // One process: its ring lives in memory and it reaches itself over loopback.
      instance_addr: '127.0.0.1',
      path_prefix: d,
      replication_factor: 1,
      ring: { kvstore: { store: 'inmemory' } },
      storage: { filesystem: { chunks_directory: `${d}/chunks`, rules_directory: `${d}/rules` } },
    },
    schema_config: {
      configs: [
        {
          from: LOKI_SCHEMA_FROM,
          store: 'tsdb',
          object_store: 'filesystem',
          schema: 'v13',
          index: { prefix: 'index_', period: '24h' },
        },
      ],
    },
    storage_config: {
      tsdb_shipper: { active_index_directory: `${d}/tsdb-index`, cache_location: `${d}/tsdb-cache` },
    },
    ingester: { wal: { enabled: true, dir: `${d}/wal` } },
    compactor: {
      working_directory: `${d}/compactor`,
      compaction_interval: '10m',
      retention_enabled: true,
      retention_delete_delay: '2h',
      retention_delete_worker_count: 150,
      // Required with retention in 3.x: where delete requests (and retention marks) are kept.
      delete_request_store: 'filesystem',
    },
    limits_config: limits,
    query_range: {
      results_cache: {
        cache: { embedded_cache: { enabled: true, max_size_mb: Math.min(500, Math.max(32, Math.floor(memMiB / 10))) } },
      },
    },
    ruler: { storage: { type: 'local', local: { directory: `${d}/rules` } } },
    // No usage reports to stats.grafana.org from a platform component.
    analytics: { reporting_enabled: false },
  };
}

/** The push endpoint of {@link lokiUrl}. */
export function lokiPushUrl(env: Pick<EnvConfig, 'logging'>): string {
  return `${lokiUrl(env)}/loki/api/v1/push`;
}
