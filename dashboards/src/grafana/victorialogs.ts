import { SEED } from '@bitpin/config';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

/*
 * The query model of the VictoriaLogs data source plugin (`victoriametrics-logs-datasource`,
 * VictoriaMetrics/victorialogs-datasource v0.14.3, the version libs/logging's plugin image pins):
 * `src/types.ts` (`Query`, `QueryType`, `VariableQuery`) and `pkg/plugin/query.go`, which maps each
 * query type to a VictoriaLogs endpoint. The foundation SDK has no package for this plugin, so this
 * is a small builder in the SDK's shape (`cog.Builder<cog.Dataquery>`).
 */

/** What the plugin's backend asks VictoriaLogs for (`queryType` of a target). */
export enum VictoriaLogsQueryType {
  /** Log lines: `/select/logsql/query` (`limit` = maxLines). */
  Instant = 'instant',
  /** One value per group: `/select/logsql/stats_query`. */
  Stats = 'stats',
  /** A series per group: `/select/logsql/stats_query_range` (the query must end in `stats`). */
  StatsRange = 'statsRange',
  /** Hit counts per step: `/select/logsql/hits`. */
  Hits = 'hits',
}

/** A target of a VictoriaLogs panel, as the plugin stores it in the dashboard JSON. */
export interface VictoriaLogsDataquery extends cog.Dataquery {
  /** The LogsQL query. */
  expr: string;
  queryType?: VictoriaLogsQueryType;
  /** `{{field}}` of the stats result's labels, or `__auto`. */
  legendFormat?: string;
  /** Lines for an instant query (the plugin's default is 1000). */
  maxLines?: number;
  /** Step of a statsRange/hits query (the plugin computes one from the panel's width when unset). */
  step?: string;
  editorMode?: 'code' | 'builder';
  refId?: string;
  hide?: boolean;
  datasource?: common.DataSourceRef;
}

/** Builds one VictoriaLogs target. Code mode: the expression is shown as written, not re-parsed by the builder UI. */
export class VictoriaLogsQueryBuilder implements cog.Builder<cog.Dataquery> {
  protected readonly internal: VictoriaLogsDataquery = {
    expr: '',
    editorMode: 'code',
    _implementsDataqueryVariant: () => undefined,
  };

  build(): VictoriaLogsDataquery {
    return this.internal;
  }

  expr(expr: string): this {
    if (expr.trim() === '') throw new Error('VictoriaLogsQueryBuilder: expr must not be empty');
    this.internal.expr = expr;
    return this;
  }

  queryType(queryType: VictoriaLogsQueryType): this {
    this.internal.queryType = queryType;
    return this;
  }

  legendFormat(legendFormat: string): this {
    this.internal.legendFormat = legendFormat;
    return this;
  }

  maxLines(maxLines: number): this {
    if (!Number.isInteger(maxLines) || maxLines <= 0) throw new Error(`VictoriaLogsQueryBuilder: maxLines must be a positive integer, got ${maxLines}`);
    this.internal.maxLines = maxLines;
    return this;
  }

  step(step: string): this {
    this.internal.step = step;
    return this;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  datasource(datasource: common.DataSourceRef): this {
    this.internal.datasource = datasource;
    return this;
  }
}

/** The plugin's variable query (`VariableQuery`): the values of one field among the entries `query` selects (`/select/logsql/field_values`). */
export interface VictoriaLogsVariableQuery {
  readonly refId: string;
  readonly type: 'fieldValue';
  readonly field: string;
  /** LogsQL filter; `*` is every entry. */
  readonly query: string;
}

/** The data source ref LogsQL panels and variables use (the variable holding the provisioned uid `victorialogs`). */
export type VictoriaLogsDsRef = common.DataSourceRef;

/**
 * A multi-value variable of one field's values (namespace, pod), with "All" = `.*` (LogsQL's
 * `=~".*"` matches every value). Refreshed when the time range changes.
 */
export function victoriaLogsFieldVariable(
  name: string,
  label: string,
  field: string,
  ds: VictoriaLogsDsRef,
  query = '*',
): dashboard.QueryVariableBuilder {
  const q: VictoriaLogsVariableQuery = { refId: 'VictoriaLogsVariableQueryEditor-VariableQuery', type: 'fieldValue', field, query };
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(ds)
    .query({ ...q })
    .definition(`field_values(${field}) where ${query}`)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: 'All', value: '$__all' });
}

/** The provisioned data source's type (plugin id), for tests and readers. */
export const VICTORIALOGS_PLUGIN_ID = SEED.grafana.datasources.victorialogs.type;
