import { SEED, type EnvConfig } from '@bitpin/config';
import { POD_LOGS_DIR } from './pod-logs.js';
import { VICTORIALOGS_NATIVE_PATH, victoriaLogsUrl } from './victorialogs-config.js';

/** vlagent's HTTP port (`/health`, `/metrics`): its default. */
export const VLAGENT_PORT = 9429;
/** The kubelet's symlinks `<pod>_<ns>_<container>-<container id>.log` → /var/log/pods/…/<n>.log: what vlagent opens. */
export const CONTAINER_LOGS_DIR = '/var/log/containers';
/** Host directory (a hostPath) for the read checkpoints and the send queue, so a restart neither re-sends nor skips lines. */
export const VLAGENT_STATE_DIR = '/var/lib/vlagent';

/**
 * The Kubernetes fields vlagent puts on every line (vector.dev's names) and the Loki labels of
 * Promtail's relabel table they stand for. `app` has no computed field: the LogsQL queries read
 * the pod label `app` (the seed's `app=bitpin-app`). The contract with the LogsQL dashboards
 * (dashboards/) lives in libs/config: `SEED.logging.logFields.vlagent`.
 */
export const VLAGENT_FIELDS = SEED.logging.logFields.vlagent;

export interface VlagentArgsOptions {
  /** @default - VictoriaLogs' Service, native protocol (`http://victorialogs.logging.svc:9428/insert/native`) */
  readonly remoteWriteUrl?: string;
  /** @default '/var/log/containers' */
  readonly logsPath?: string;
  /** @default '/var/lib/vlagent' */
  readonly stateDir?: string;
  /** @default ':9429' */
  readonly httpListenAddr?: string;
}

/**
 * The flags vlagent runs with (it has no config file): the Kubernetes collector on, reading the
 * kubelet's /var/log/containers symlinks (whose targets are under /var/log/pods), checkpoints and
 * its on-disk send queue on the state hostPath, pushing VictoriaLogs' native protocol.
 *
 * Lines: CRI records; partial records (`P`, a line the runtime split at 16 KiB) are joined into
 * one entry. There is no multi-line merging: a stack trace a program prints over N lines arrives
 * as N entries of one stream in order (JSON loggers keep it in one field of one line). Pod labels
 * become `kubernetes.pod_labels.<key>` fields; stream fields are namespace, pod and container.
 */
export function vlagentArgs(env: Pick<EnvConfig, 'logging'>, options: VlagentArgsOptions = {}): string[] {
  const state = options.stateDir ?? VLAGENT_STATE_DIR;
  return [
    `-remoteWrite.url=${options.remoteWriteUrl ?? `${victoriaLogsUrl(env)}${VICTORIALOGS_NATIVE_PATH}`}`,
    `-httpListenAddr=${options.httpListenAddr ?? `:${VLAGENT_PORT}`}`,
    `-tmpDataPath=${state}/queue`,
    '-kubernetesCollector',
    `-kubernetesCollector.logsPath=${options.logsPath ?? CONTAINER_LOGS_DIR}`,
    `-kubernetesCollector.checkpointsPath=${state}/checkpoints.json`,
    '-kubernetesCollector.includePodLabels=true',
    // Promtail's `stream` label.
    `-kubernetesCollector.streamFields=${[VLAGENT_FIELDS.namespace, VLAGENT_FIELDS.pod, VLAGENT_FIELDS.container].join(',')}`,
    '-loggerFormat=json',
  ];
}

/** Both host directories the agent reads: the symlinks and their targets. */
export const VLAGENT_HOST_LOG_DIRS = [CONTAINER_LOGS_DIR, POD_LOGS_DIR] as const;
