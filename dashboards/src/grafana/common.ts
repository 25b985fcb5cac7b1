import { SEED } from '@bitpin/config';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as logs from '@grafana/grafana-foundation-sdk/logs';
import * as loki from '@grafana/grafana-foundation-sdk/loki';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { runbookUrl } from '../prometheus/builder.js';
import { DASHBOARDS, PLATFORM_TAG, type DashboardKey } from './catalog.js';
import type { VictoriaLogsQueryBuilder } from './victorialogs.js';

/*
 * House style: every dashboard and panel starts from these factories (grafana-foundation-sdk
 * examples, `common.ts`). Panels are pure functions returning builders; each dashboard's
 * index.ts sets the layout and calls `.build()` once.
 */

const DS = SEED.grafana.datasources;

/** Name of the Prometheus data-source variable; panels reference `${datasource}`. */
export const PROMETHEUS_VAR = 'datasource';
/** Name of the Loki data-source variable; log panels reference `${loki_datasource}`. */
export const LOKI_VAR = 'loki_datasource';

export const prometheusDs: common.DataSourceRef = { type: DS.prometheus.type, uid: `\${${PROMETHEUS_VAR}}` };
export const lokiDs: common.DataSourceRef = { type: DS.loki.type, uid: `\${${LOKI_VAR}}` };
/** Name of the VictoriaLogs data-source variable (`logging.backend: victorialogs`); LogsQL panels reference `${victorialogs_datasource}`. */
export const VICTORIALOGS_VAR = 'victorialogs_datasource';
export const victoriaLogsDs: common.DataSourceRef = { type: DS.victorialogs.type, uid: `\${${VICTORIALOGS_VAR}}` };

/** Value of a multi-value variable's "All": matches every value, including an absent label. */
export const ALL_VALUE = '.*';

// ---------------------------------------------------------------- variables

function datasourceVariable(name: string, label: string, ds: { uid: string; name: string; type: string }) {
  return new dashboard.DatasourceVariableBuilder(name)
    .label(label)
    .type(ds.type)
    // The provisioned data source (fixed uid) is the default; others of the same type can be picked.
    .current({ selected: true, text: ds.name, value: ds.uid });
}

export const prometheusDatasourceVariable = () => datasourceVariable(PROMETHEUS_VAR, 'Prometheus', DS.prometheus);
export const lokiDatasourceVariable = () => datasourceVariable(LOKI_VAR, 'Loki', DS.loki);
export const victoriaLogsDatasourceVariable = () => datasourceVariable(VICTORIALOGS_VAR, 'VictoriaLogs', DS.victorialogs);

/** A multi-value query variable with "All" (= `.*`), refreshed when the time range changes. */
export function queryVariable(
  name: string,
  label: string,
  query: string,
  options: {
    /** @default - the Prometheus data-source variable */
    ds?: common.DataSourceRef;
    /** What "All" stands for. @default ".*" */
    allValue?: string;
  } = {},
): dashboard.QueryVariableBuilder {
  const ds = options.ds ?? prometheusDs;
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(ds)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(options.allValue ?? ALL_VALUE)
    .current({ selected: true, text: 'All', value: '$__all' });
}

/** A fixed list of values, multi-select with "All". */
export function customVariable(name: string, label: string, values: readonly string[]): dashboard.CustomVariableBuilder {
  return new dashboard.CustomVariableBuilder(name)
    .label(label)
    .values(values.join(','))
    .multi(true)
    .includeAll(true)
    .allValue(ALL_VALUE)
    .current({ selected: true, text: 'All', value: '$__all' });
}

// ---------------------------------------------------------------- queries

/** A range query, for time series. */
export function promQuery(expr: string, legend = '__auto'): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder().datasource(prometheusDs).expr(expr).legendFormat(legend).range();
}

/** An instant query, for stats and tables. */
export function promInstant(expr: string, legend = '__auto'): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder().datasource(prometheusDs).expr(expr).legendFormat(legend).instant();
}

/** An instant query in table format (one row per series, labels as columns). */
export function promTable(expr: string): prometheus.DataqueryBuilder {
  return promInstant(expr).format(prometheus.PromQueryFormat.Table);
}

export function lokiQuery(expr: string, legend?: string): loki.DataqueryBuilder {
  const q = new loki.DataqueryBuilder().datasource(lokiDs).expr(expr);
  return legend === undefined ? q : q.legendFormat(legend);
}

// ---------------------------------------------------------------- thresholds

export type ThresholdStep = readonly [value: number | null, color: string];

export function thresholds(...steps: ThresholdStep[]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })));
}

/** Green below `warn`, orange from `warn`, red from `crit` (higher is worse). */
export const upperThresholds = (warn: number, crit: number) => thresholds([null, 'green'], [warn, 'orange'], [crit, 'red']);
/** Red below `crit`, orange below `warn`, green from `warn` (lower is worse). */
export const lowerThresholds = (crit: number, warn: number) => thresholds([null, 'red'], [crit, 'orange'], [warn, 'green']);
/** No colour change: the panel shows values, not a judgement. */
export const neutralThresholds = () => thresholds([null, 'green']);

// ---------------------------------------------------------------- panels

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  /** A Grafana unit id (see `@grafana/grafana-foundation-sdk/units`). */
  readonly unit: string;
  /** @default - no colour thresholds (all green) */
  readonly thresholds?: dashboard.ThresholdsConfigBuilder;
  /** @default - Grafana picks */
  readonly min?: number;
  /** @default - Grafana picks */
  readonly max?: number;
  /** @default - Grafana picks */
  readonly decimals?: number;
}

export interface TimeseriesSpec extends PanelSpec {
  /** Stack the series (totals). @default false */
  readonly stacked?: boolean;
  /** Draw the thresholds as dashed lines. @default - only when thresholds are given */
  readonly showThresholds?: boolean;
}

export function timeseriesPanel(p: TimeseriesSpec, ...targets: prometheus.DataqueryBuilder[]): timeseries.PanelBuilder {
  let b = new timeseries.PanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(prometheusDs)
    .unit(p.unit)
    .thresholds(p.thresholds ?? neutralThresholds())
    .lineWidth(1)
    .fillOpacity(p.stacked ? 30 : 10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .placement(common.LegendPlacement.Bottom)
        .displayMode(common.LegendDisplayMode.List),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
    .thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(
        (p.showThresholds ?? p.thresholds !== undefined) ? common.GraphThresholdsStyleMode.Dashed : common.GraphThresholdsStyleMode.Off,
      ),
    );
  if (p.stacked) b = b.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (p.min !== undefined) b = b.min(p.min);
  if (p.max !== undefined) b = b.max(p.max);
  if (p.decimals !== undefined) b = b.decimals(p.decimals);
  return withTargets(b, targets);
}

export interface StatSpec extends PanelSpec {
  /** Show the series name next to the value (one tile per series). @default false */
  readonly showName?: boolean;
  /** Value → text mappings, e.g. 1 → "up". @default - none */
  readonly mappings?: ReadonlyArray<{ value: number; text: string; color: string }>;
}

export function statPanel(p: StatSpec, ...targets: prometheus.DataqueryBuilder[]): stat.PanelBuilder {
  let b = new stat.PanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(prometheusDs)
    .unit(p.unit)
    .thresholds(p.thresholds ?? neutralThresholds())
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(p.showName ? common.BigValueTextMode.ValueAndName : common.BigValueTextMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (p.mappings?.length) {
    b = b.mappings([
      {
        type: dashboard.MappingType.ValueToText,
        options: Object.fromEntries(p.mappings.map((m, i) => [String(m.value), { text: m.text, color: m.color, index: i }])),
      },
    ]);
  }
  if (p.min !== undefined) b = b.min(p.min);
  if (p.max !== undefined) b = b.max(p.max);
  if (p.decimals !== undefined) b = b.decimals(p.decimals);
  return withTargets(b, targets);
}

export function tablePanel(p: PanelSpec, ...targets: prometheus.DataqueryBuilder[]): table.PanelBuilder {
  const b = new table.PanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(prometheusDs)
    .unit(p.unit)
    .thresholds(p.thresholds ?? neutralThresholds())
    .filterable(true)
    // Prometheus' table format adds a Time column; the value is what matters.
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true, __name__: true } } });
  return withTargets(b, targets);
}

/** A Loki time series (volume, rates). */
export function lokiTimeseriesPanel(p: TimeseriesSpec, ...targets: loki.DataqueryBuilder[]): timeseries.PanelBuilder {
  const b = timeseriesPanel(p).datasource(lokiDs);
  return withTargets(b, targets);
}

/** A VictoriaLogs time series (LogsQL `stats` over time: volume, rates). */
export function victoriaLogsTimeseriesPanel(p: TimeseriesSpec, ...targets: VictoriaLogsQueryBuilder[]): timeseries.PanelBuilder {
  const b = timeseriesPanel(p).datasource(victoriaLogsDs);
  return withTargets(b, targets);
}

/** Raw log lines, newest first (Loki, or VictoriaLogs with its data source). */
export function logsPanel(
  p: Omit<PanelSpec, 'unit'> & { unit?: string },
  target: loki.DataqueryBuilder | VictoriaLogsQueryBuilder,
  ds: common.DataSourceRef = lokiDs,
): logs.PanelBuilder {
  return new logs.PanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(ds)
    // Log lines have no numeric unit; "string" keeps the every-panel-has-a-unit rule honest.
    .unit(p.unit ?? 'string')
    .thresholds(p.thresholds ?? neutralThresholds())
    .showTime(true)
    .wrapLogMessage(true)
    .enableLogDetails(true)
    .sortOrder(common.LogsSortOrder.Descending)
    .dedupStrategy(common.LogsDedupStrategy.None)
    .withTarget(target.refId('A'));
}

/** Adds targets with refIds A, B, C, … (stable, so snapshots do not churn). */
function withTargets<B extends { withTarget(t: never): B }>(b: B, targets: ReadonlyArray<{ refId(id: string): unknown }>): B {
  let out = b;
  targets.forEach((t, i) => {
    t.refId(String.fromCharCode(65 + i));
    out = out.withTarget(t as never);
  });
  return out;
}

// ---------------------------------------------------------------- links

/**
 * A panel link to an alert's runbook (`docs/runbooks/<alert>.md`, the alert's `runbook_url`),
 * opened in a new tab. Panels an alert watches carry one per alert (src/grafana/runbooks.ts).
 */
export function runbookLink(alertName: string): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder(`Runbook: ${alertName}`).type(dashboard.DashboardLinkType.Link).url(runbookUrl(alertName)).targetBlank(true);
}

// ---------------------------------------------------------------- dashboard shell

/** Links shown on every dashboard: a dropdown of all platform dashboards, then one link per other dashboard. */
export function platformLinks(self: DashboardKey): dashboard.DashboardLinkBuilder[] {
  const others = (Object.keys(DASHBOARDS) as DashboardKey[]).filter((k) => k !== self);
  return [
    new dashboard.DashboardLinkBuilder('Bitpin dashboards')
      .type(dashboard.DashboardLinkType.Dashboards)
      .tags([PLATFORM_TAG])
      .asDropdown(true)
      .includeVars(false)
      .keepTime(true)
      .targetBlank(false),
    ...others.map((k) =>
      new dashboard.DashboardLinkBuilder(DASHBOARDS[k].title.replace(/^Bitpin \/ /, ''))
        .type(dashboard.DashboardLinkType.Link)
        .url(`/d/${DASHBOARDS[k].uid}`)
        .icon('dashboard')
        .tooltip(DASHBOARDS[k].title)
        .asDropdown(false)
        // Carries namespace/pod selections across (variables with the same name).
        .includeVars(true)
        .keepTime(true)
        .targetBlank(false),
    ),
  ];
}

export interface DashboardShellSpec {
  readonly key: DashboardKey;
  readonly description: string;
  readonly tags: readonly string[];
  readonly variables: ReadonlyArray<{ build(): dashboard.VariableModel }>;
  /** @default "now-6h" */
  readonly from?: string;
  /** Links after the platform links. @default - none */
  readonly extraLinks?: readonly dashboard.DashboardLinkBuilder[];
}

/** A dashboard with the platform's defaults: uid, title, tags, UTC, 30s refresh, variables and links. */
export function platformDashboard(spec: DashboardShellSpec): dashboard.DashboardBuilder {
  const { uid, title } = DASHBOARDS[spec.key];
  let b = new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(spec.description)
    .tags([PLATFORM_TAG, ...spec.tags])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: spec.from ?? 'now-6h', to: 'now' })
    .timezone('utc')
    .links([...platformLinks(spec.key), ...(spec.extraLinks ?? [])]);
  for (const v of spec.variables) b = b.withVariable(v as never);
  return b;
}

/** `{job="x", namespace=~"$namespace", …}` for a dashboard variable set. */
export const varMatch = (name: string): { re: string } => ({ re: `$${name}` });

/** Any panel builder of the SDK (they share layout setters). */
export type AnyPanel = cog.Builder<dashboard.Panel> & { span(w: number): unknown; height(h: number): unknown };

/** Adds a row and its panels, each `span` columns wide (24 per line) and `height` units high. */
export function addRow(b: dashboard.DashboardBuilder, title: string, panels: readonly AnyPanel[], span: number, height = 8): void {
  b.withRow(new dashboard.RowBuilder(title));
  for (const p of panels) {
    p.span(span);
    p.height(height);
    b.withPanel(p);
  }
}
