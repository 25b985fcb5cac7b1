import type { EnvConfig } from '@bitpin/config';
import { logPushUrl } from './victorialogs-config.js';
import { POD_LOGS_DIR, podLogRelabelRules, toPromtailRelabel } from './pod-logs.js';

/** Promtail's HTTP port (`/ready`, `/metrics`): the port of grafana/helm-charts' promtail chart. */
export const PROMTAIL_PORT = 3101;
/** Host directory (a hostPath) holding Promtail's positions file, so a restart resumes where it stopped. */
export const PROMTAIL_POSITIONS_DIR = '/run/promtail';
export const PROMTAIL_CONFIG_DIR = '/etc/promtail';
export const PROMTAIL_CONFIG_FILE = 'promtail.yaml';
/** The scrape job that tails every pod's logs. */
export const PROMTAIL_POD_JOB = 'kubernetes-pods';

export interface PromtailConfigOptions {
  /**
   * The push URL.
   * @default - the store's Loki push API: Loki's (`http://loki.logging.svc:3100/loki/api/v1/push`) or VictoriaLogs' (`http://victorialogs.logging.svc:9428/insert/loki/api/v1/push`)
   */
  readonly lokiPushUrl?: string;
  /**
   * Host directory of the kubelet's pod logs.
   * @default '/var/log/pods'
   */
  readonly podLogsDir?: string;
  /** @default '/run/promtail/positions.yaml' */
  readonly positionsFile?: string;
  /** @default 3101 */
  readonly httpPort?: number;
}

/**
 * Promtail's config: Kubernetes pod discovery limited to the agent's own node (the field
 * selector reads `${HOSTNAME}`, so Promtail runs with `-config.expand-env=true` and HOSTNAME =
 * `spec.nodeName`), the shared relabel rules (labels namespace, pod, container, app, node_name;
 * `__path__` under /var/log/pods), CRI parsing, and `filename` dropped (it would make a new stream
 * per container restart).
 */
export function promtailConfig(env: EnvConfig, options: PromtailConfigOptions = {}): Record<string, unknown> {
  return {
    server: {
      http_listen_port: options.httpPort ?? PROMTAIL_PORT,
      // Promtail serves nothing on gRPC; 0 picks a free port instead of the default 9095.
      grpc_listen_port: 0,
      log_level: 'info',
    },
    positions: { filename: options.positionsFile ?? `${PROMTAIL_POSITIONS_DIR}/positions.yaml` },
    clients: [
      {
        url: options.lokiPushUrl ?? logPushUrl(env),
        // Retry for ~5 minutes (Loki restarting, or answering 429) before a batch is dropped.
        backoff_config: { min_period: '500ms', max_period: '5m', max_retries: 10 },
        batchwait: '1s',
        batchsize: 1048576,
        timeout: '10s',
      },
    ],
    scrape_configs: [
      {
        job_name: PROMTAIL_POD_JOB,
        kubernetes_sd_configs: [
          { role: 'pod', selectors: [{ role: 'pod', field: 'spec.nodeName=${HOSTNAME}' }] },
        ],
        pipeline_stages: [{ cri: {} }, { labeldrop: ['filename'] }],
        relabel_configs: toPromtailRelabel(podLogRelabelRules(options.podLogsDir ?? POD_LOGS_DIR)),
      },
    ],
  };
}
