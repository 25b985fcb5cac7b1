import { SEED, type EnvConfig } from '@bitpin/config';
import { victoriaLogsUrl } from '@bitpin/k8s';
import { lokiPushUrl } from './loki-config.js';

/** The StatefulSet, Service and scrape job name of the VictoriaLogs store (its own name, not `loki`: see README). */
export const VICTORIALOGS_NAME = SEED.logging.victorialogs.name;
/** `-storageDataPath` in the pod: the PersistentVolumeClaim `storage`. */
export const VICTORIALOGS_DATA_DIR = '/victoria-logs-data';
/** Loki's push API as VictoriaLogs serves it (Promtail and Alloy push here). */
export const VICTORIALOGS_LOKI_PUSH_PATH = '/insert/loki/api/v1/push';
/** The Loki push's query: a JSON line's `msg`/`message`/`log` becomes its message (`SEED.logging.victorialogs.msgFields`), as vlagent does. */
export const VICTORIALOGS_LOKI_PUSH_QUERY = `_msg_field=${SEED.logging.victorialogs.msgFields.join(',')}`;
/** vlagent's native protocol endpoint. */
export const VICTORIALOGS_NATIVE_PATH = '/insert/native';
/** LogsQL over HTTP. */
export const VICTORIALOGS_QUERY_PATH = '/select/logsql/query';

/** VictoriaLogs' in-cluster base URL (`http://victorialogs.logging.svc:9428`; libs/k8s, shared with both Grafanas). */
export { victoriaLogsUrl };

export interface VictoriaLogsArgsOptions {
  /** @default ':<logging.victorialogs.port>' (every interface of the pod) */
  readonly httpListenAddr?: string;
  /** @default '/victoria-logs-data' */
  readonly storageDataPath?: string;
}

/**
 * The flags `victoria-logs` runs with — its whole configuration: the data on the volume,
 * retention by age (`-retentionPeriod`) and by size (`-retention.maxDiskSpaceUsageBytes`: the
 * oldest days are dropped above it, so the volume never fills), JSON logs, and no telemetry.
 * The tests start the real binary with exactly these (only the address and the path replaced).
 */
export function victoriaLogsArgs(env: Pick<EnvConfig, 'logging'>, options: VictoriaLogsArgsOptions = {}): string[] {
  const vl = env.logging.victorialogs;
  return [
    `-storageDataPath=${options.storageDataPath ?? VICTORIALOGS_DATA_DIR}`,
    `-httpListenAddr=${options.httpListenAddr ?? `:${vl.port}`}`,
    `-retentionPeriod=${vl.retentionPeriod}`,
    `-retention.maxDiskSpaceUsageBytes=${vl.maxDiskSpaceUsage}`,
    '-loggerFormat=json',
    '-loggerOutput=stderr',
  ];
}

/**
 * Where Promtail and Alloy push: Loki's `/loki/api/v1/push`, or the same API on VictoriaLogs
 * (`/insert/loki/api/v1/push?_msg_field=msg,message,log`) when `logging.backend` is `victorialogs`.
 */
export function logPushUrl(env: Pick<EnvConfig, 'logging'>): string {
  return env.logging.backend === 'victorialogs' ? `${victoriaLogsUrl(env)}${VICTORIALOGS_LOKI_PUSH_PATH}?${VICTORIALOGS_LOKI_PUSH_QUERY}` : lokiPushUrl(env);
}
