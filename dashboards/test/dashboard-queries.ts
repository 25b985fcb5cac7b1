import { SEED } from '@bitpin/config';
import type { GrafanaDashboard } from '../src/index.js';

export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly datasource?: unknown;
  readonly fieldConfig?: unknown;
  readonly gridPos?: unknown;
  readonly targets?: ReadonlyArray<Record<string, unknown>>;
}

export interface DashboardQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly language: 'promql' | 'logql' | 'logsql';
  readonly expr: string;
  /** LogsQL only: the VictoriaLogs plugin's query type (instant, stats, statsRange, hits). */
  readonly queryType?: string;
  /** LogsQL instant queries: the line limit. */
  readonly maxLines?: number;
}

/** The query language of a target, from its data source type. */
function languageOf(t: Record<string, unknown>): DashboardQuery['language'] {
  const type = (t['datasource'] as { type?: string } | undefined)?.type;
  if (type === SEED.grafana.datasources.loki.type) return 'logql';
  if (type === SEED.grafana.datasources.victorialogs.type) return 'logsql';
  return 'promql';
}

/** The panels of a dashboard, without rows. */
export function panelsOf(d: GrafanaDashboard): Panel[] {
  return (d.json['panels'] as Panel[]).filter((p) => p.type !== 'row');
}

/** Every query of a dashboard (panel targets). */
export function queriesOf(d: GrafanaDashboard): DashboardQuery[] {
  return panelsOf(d).flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      dashboard: d.uid,
      panel: p.title,
      refId: String(t['refId']),
      language: languageOf(t),
      expr: String(t['expr']),
      ...(languageOf(t) === 'logsql' ? { queryType: String(t['queryType']), ...(t['maxLines'] === undefined ? {} : { maxLines: Number(t['maxLines']) }) } : {}),
    })),
  );
}

/**
 * What Grafana would send for the "All" selection and a short time range: template variables
 * replaced by their All values and the interval macros by durations.
 */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>> = {}): string {
  const v: Record<string, string> = {
    __rate_interval: '1m',
    __interval: '15s',
    __range: '5m',
    __auto: '15s',
    namespace: '.*',
    pod: '.*',
    route: '.*',
    instance: '.*',
    severity: '.*',
    ...values,
  };
  return expr.replace(/\$\{?(\w+)\}?/g, (m, name: string) => v[name] ?? m);
}
