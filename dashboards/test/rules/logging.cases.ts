import type { EnvConfig } from '@bitpin/config';
import { LOG_AGENT_DROPPED_METRIC } from '../../src/prometheus/logging.js';
import { firing, series, silent, type PromtoolCase, type RuleIndex } from '../promtool.js';

const loki = { job: 'loki', namespace: 'logging', pod: 'loki-0' };
const req = (route: string, status: string, values: string) =>
  series('loki_request_duration_seconds_count', { ...loki, route, method: 'POST', status_code: status, ws: 'false' }, values);

const vl = { job: 'victorialogs', namespace: 'logging', pod: 'victorialogs-0' };

function victoriaLogsCases(r: RuleIndex): PromtoolCase[] {
  const disk = (data: string, free: string) => [
    series('vl_data_size_bytes', { ...vl, type: 'storage' }, data),
    series('vl_data_size_bytes', { ...vl, type: 'indexdb' }, '0x40'),
    series('vl_free_disk_space_bytes', { ...vl, path: '/victoria-logs-data' }, free),
  ];
  return [
    {
      name: 'VictoriaLogsDiskFillingUp: 85% of the volume in data for 30m',
      input_series: disk('85x40', '15x40'),
      alert_rule_test: [
        silent('VictoriaLogsDiskFillingUp', '29m'),
        firing(
          'VictoriaLogsDiskFillingUp',
          '31m',
          r.fired('VictoriaLogsDiskFillingUp', 'warning', { namespace: 'logging', pod: 'victorialogs-0' }, {
            summary: 'VictoriaLogs victorialogs-0 uses 85% of its volume',
            description:
              'VictoriaLogs logging/victorialogs-0 has had more than 80% of its volume in data for 30 minutes. -retention.maxDiskSpaceUsageBytes (logging.victorialogs.maxDiskSpaceUsage) drops the oldest days above its cap; above 80% with that cap in place, the volume is smaller than the cap or something else fills it.',
          }),
        ),
      ],
    },
    { name: 'VictoriaLogsDiskFillingUp: 50% stays silent', input_series: disk('50x40', '50x40'), alert_rule_test: [silent('VictoriaLogsDiskFillingUp', '40m')] },
    {
      name: 'VictoriaLogsDroppingRows: rows too old for the retention dropped for 10m',
      input_series: [series('vl_rows_dropped_total', { ...vl, reason: 'too_small_timestamp' }, '0+60x30'), series('vl_rows_dropped_total', { ...vl, reason: 'too_many_fields' }, '0x30')],
      alert_rule_test: [
        silent('VictoriaLogsDroppingRows', '10m'),
        firing(
          'VictoriaLogsDroppingRows',
          '11m',
          r.fired('VictoriaLogsDroppingRows', 'warning', { namespace: 'logging', pod: 'victorialogs-0', reason: 'too_small_timestamp' }, {
            summary: 'VictoriaLogs victorialogs-0 drops rows (too_small_timestamp)',
            description:
              'VictoriaLogs logging/victorialogs-0 has been dropping ingested rows for 10 minutes (reason too_small_timestamp, 1.00 rows/s): timestamps outside retention, too many fields or too long lines. Those lines are lost.',
          }),
        ),
      ],
    },
    {
      name: 'VictoriaLogsDroppingRows: no new drops stays silent',
      input_series: [series('vl_rows_dropped_total', { ...vl, reason: 'too_small_timestamp' }, '9x30')],
      alert_rule_test: [silent('VictoriaLogsDroppingRows', '30m')],
    },
  ];
}

export function loggingCases(env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  const dropped = LOG_AGENT_DROPPED_METRIC[env.logging.agent];
  const agent = { job: 'log-agent', namespace: 'logging', pod: 'log-agent-x1' };
  const store = env.logging.backend === 'victorialogs' ? 'VictoriaLogs' : 'Loki';
  const storeCases = env.logging.backend === 'victorialogs' ? victoriaLogsCases(r) : lokiCases(r);
  return [
    ...storeCases,
    ...agentCases(env, r, dropped, agent, store),
  ];
}

function lokiCases(r: RuleIndex): PromtoolCase[] {
  return [
    {
      name: 'LokiRequestErrors: 20% of pushes fail for 15m',
      input_series: [req('loki_api_v1_push', '500', '0+20x30'), req('loki_api_v1_push', '204', '0+80x30'), req('ready', '200', '0+10x30')],
      alert_rule_test: [
        silent('LokiRequestErrors', '15m'),
        firing(
          'LokiRequestErrors',
          '16m',
          r.fired('LokiRequestErrors', 'critical', { namespace: 'logging', route: 'loki_api_v1_push' }, {
            summary: 'Loki fails 20% of loki_api_v1_push requests',
            description:
              'More than 10% of Loki requests on route loki_api_v1_push in logging have ended with a 5xx for 15 minutes (at 0.1 request/s or more): logs are being lost (push) or cannot be read (query).',
          }),
        ),
      ],
    },
    {
      name: 'LokiRequestErrors: 5% stays silent',
      input_series: [req('loki_api_v1_push', '500', '0+5x30'), req('loki_api_v1_push', '204', '0+95x30')],
      alert_rule_test: [silent('LokiRequestErrors', '30m')],
    },
    {
      name: 'LokiRequestErrors: 2 of 4 queries failing per minute (50%, 0.07 request/s) stays silent (minimum traffic)',
      input_series: [req('loki_api_v1_query_range', '500', '0+2x30'), req('loki_api_v1_query_range', '200', '0+2x30')],
      alert_rule_test: [silent('LokiRequestErrors', '30m')],
    },
  ];
}

function agentCases(env: EnvConfig, r: RuleIndex, dropped: string, agent: Record<string, string>, store: string): PromtoolCase[] {
  return [
    {
      name: `LogAgentDroppingLines: ${env.logging.agent} drops lines for 10m`,
      input_series: [
        series(dropped, { ...agent, host: 'loki.logging.svc:3100', reason: 'ingester_error', tenant: '' }, '0+6x30'),
        series(dropped, { ...agent, host: 'loki.logging.svc:3100', reason: 'rate_limited', tenant: '' }, '0x30'),
      ],
      alert_rule_test: [
        silent('LogAgentDroppingLines', '10m'),
        firing(
          'LogAgentDroppingLines',
          '11m',
          r.fired('LogAgentDroppingLines', 'warning', { namespace: 'logging', pod: 'log-agent-x1' }, {
            summary: 'Log agent log-agent-x1 drops log lines',
            description: `The ${env.logging.agent} agent logging/log-agent-x1 has been dropping entries it could not send to ${store} after its retries (${dropped}) for 10 minutes, at 0.10 lines/s. Those lines are lost.`,
          }),
        ),
      ],
    },
    {
      name: 'LogAgentDroppingLines: no new drops stays silent',
      input_series: [series(dropped, { ...agent, reason: 'ingester_error' }, '7x30')],
      alert_rule_test: [silent('LogAgentDroppingLines', '30m')],
    },
  ];
}
