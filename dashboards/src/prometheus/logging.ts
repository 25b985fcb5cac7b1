import type { EnvConfig } from '@bitpin/config';
import { JOBS, re, sel } from '../promql.js';
import { alert, ruleFile, ruleGroup, type PrometheusRuleFile } from './builder.js';

/** Counter of log entries the agent gave up on after its retries, per agent kind. */
export const LOG_AGENT_DROPPED_METRIC = {
  promtail: 'promtail_dropped_entries_total',
  alloy: 'loki_write_dropped_entries_total',
  // Blocks VictoriaLogs rejected (4xx) or that could not be sent after -remoteWrite.retryMaxTime.
  vlagent: 'vlagent_remotewrite_packets_dropped_total',
} as const satisfies Record<string, string>;

/** Counter of log entries the agent delivered to Loki, per agent kind. */
export const LOG_AGENT_SENT_METRIC = {
  promtail: 'promtail_sent_entries_total',
  alloy: 'loki_write_sent_entries_total',
  vlagent: 'vlagent_remotewrite_blocks_sent_total',
} as const satisfies Record<string, string>;

/**
 * Minimum request rate (per second over 2 minutes, per route) below which LokiRequestErrors stays
 * quiet: a handful of failed queries from one dashboard refresh is not an outage of the push path.
 */
export const LOKI_MIN_REQUEST_RATE = 0.1;

/** The log store (Loki, or VictoriaLogs with `logging.backend: victorialogs`) and the log agent (Promtail, Alloy or vlagent, per env). */
export function loggingRules(env: EnvConfig): PrometheusRuleFile {
  const requests = (extra = {}) => sel('loki_request_duration_seconds_count', { job: JOBS.loki, ...extra });
  const dropped = LOG_AGENT_DROPPED_METRIC[env.logging.agent];
  const victoria = env.logging.backend === 'victorialogs';
  const store = victoria ? 'VictoriaLogs' : 'Loki';
  const vl = (m: string, extra = {}) => sel(m, { job: JOBS.victorialogs, ...extra });
  const victoriaAlerts = [
    alert({
      name: 'VictoriaLogsDiskFillingUp',
      expr: `sum by (namespace, pod) (${vl('vl_data_size_bytes')})
/
(sum by (namespace, pod) (${vl('vl_free_disk_space_bytes')}) + sum by (namespace, pod) (${vl('vl_data_size_bytes')}))
> 0.8`,
      for: '30m',
      severity: 'warning',
      summary: 'VictoriaLogs {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its volume',
      description:
        'VictoriaLogs {{ $labels.namespace }}/{{ $labels.pod }} has had more than 80% of its volume in data for 30 minutes. -retention.maxDiskSpaceUsageBytes (logging.victorialogs.maxDiskSpaceUsage) drops the oldest days above its cap; above 80% with that cap in place, the volume is smaller than the cap or something else fills it.',
    }),
    alert({
      name: 'VictoriaLogsDroppingRows',
      expr: `sum by (namespace, pod, reason) (rate(${vl('vl_rows_dropped_total')}[5m])) > 0`,
      for: '10m',
      severity: 'warning',
      summary: 'VictoriaLogs {{ $labels.pod }} drops rows ({{ $labels.reason }})',
      description:
        'VictoriaLogs {{ $labels.namespace }}/{{ $labels.pod }} has been dropping ingested rows for 10 minutes (reason {{ $labels.reason }}, {{ $value | printf "%.2f" }} rows/s): timestamps outside retention, too many fields or too long lines. Those lines are lost.',
    }),
  ];
  const lokiAlerts = [
    alert({
      name: 'LokiRequestErrors',
      expr: `sum by (namespace, route) (rate(${requests({ status_code: re('5..') })}[2m]))
/
sum by (namespace, route) (rate(${requests()}[2m]))
> 0.1
and on (namespace, route)
sum by (namespace, route) (rate(${requests()}[2m])) >= ${LOKI_MIN_REQUEST_RATE}`,
      for: '15m',
      severity: 'critical',
      summary: 'Loki fails {{ $value | humanizePercentage }} of {{ $labels.route }} requests',
      description:
        `More than 10% of Loki requests on route {{ $labels.route }} in {{ $labels.namespace }} have ended with a 5xx for 15 minutes (at ${LOKI_MIN_REQUEST_RATE} request/s or more): logs are being lost (push) or cannot be read (query).`,
    }),
  ];
  const alerts = [
    ...(victoria ? victoriaAlerts : lokiAlerts),
    alert({
      name: 'LogAgentDroppingLines',
      expr: `sum by (namespace, pod) (rate(${sel(dropped, { job: JOBS.logAgent })}[5m])) > 0`,
      for: '10m',
      severity: 'warning',
      summary: 'Log agent {{ $labels.pod }} drops log lines',
      description: `The ${env.logging.agent} agent {{ $labels.namespace }}/{{ $labels.pod }} has been dropping entries it could not send to ${store} after its retries (${dropped}) for 10 minutes, at {{ $value | printf "%.2f" }} lines/s. Those lines are lost.`,
    }),
  ];
  return ruleFile('logging.rules.yaml', [ruleGroup('logging', alerts)]);
}
