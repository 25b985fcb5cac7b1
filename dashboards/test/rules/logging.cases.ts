import type { EnvConfig } from '@bitpin/config';
import { LOG_AGENT_DROPPED_METRIC } from '../../src/prometheus/logging.js';
import { firing, series, silent, type PromtoolCase, type RuleIndex } from '../promtool.js';

const loki = { job: 'loki', namespace: 'logging', pod: 'loki-0' };
const req = (route: string, status: string, values: string) =>
  series('loki_request_duration_seconds_count', { ...loki, route, method: 'POST', status_code: status, ws: 'false' }, values);

export function loggingCases(env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  const dropped = LOG_AGENT_DROPPED_METRIC[env.logging.agent];
  const agent = { job: 'log-agent', namespace: 'logging', pod: 'log-agent-x1' };
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
            description: `The ${env.logging.agent} agent logging/log-agent-x1 has been dropping entries it could not send to Loki after its retries (${dropped}) for 10 minutes, at 0.10 lines/s. Those lines are lost.`,
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
