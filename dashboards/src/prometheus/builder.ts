import { toYaml, type YamlValue } from '../yaml.js';

/**
 * A typed builder for Prometheus rule files. Alerts are declared as {@link AlertSpec} objects
 * and checked eagerly: a bad name, duration, severity or a missing text throws an error naming
 * the alert, the field, the value and what is allowed.
 */

/** Where every alert's runbook lives: `docs/runbooks/<AlertName>.md` of this repository. */
export const RUNBOOK_BASE_URL = 'https://github.com/bitpin/bitpin-platform/blob/main/docs/runbooks/';

/** Repository path of the runbooks (relative to the workspace root). */
export const RUNBOOK_DIR = 'docs/runbooks';

/**
 * Alert severities, most urgent first. `critical` pages, `warning` opens a ticket, `info` only
 * shows on dashboards, `none` is for the Watchdog (routed to a dead-man's switch).
 */
export const SEVERITIES = ['critical', 'warning', 'info', 'none'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A Prometheus duration such as `30s`, `5m`, `1h30m` or `2d`. */
export type PromDuration = `${number}${'ms' | 's' | 'm' | 'h' | 'd' | 'w' | 'y'}${string}`;

export interface AlertSpec {
  /** Alert name, UpperCamelCase (`BitpinAppHighErrorRate`); also the runbook's file name. */
  readonly name: string;
  /** PromQL; every series it returns is one alert. */
  readonly expr: string;
  /**
   * How long the expression must keep returning a series before the alert fires.
   * @default - fires on the first evaluation that returns a series
   */
  readonly for?: PromDuration;
  readonly severity: Severity;
  /** One line, shown as the notification title. May use `{{ $labels.x }}` / `{{ $value }}`. */
  readonly summary: string;
  /** What is wrong and what it affects. May use templates. */
  readonly description: string;
  /**
   * Runbook URL.
   * @default - `${RUNBOOK_BASE_URL}<name>.md`
   */
  readonly runbookUrl?: string;
  /**
   * Extra labels on the alert (routing). `severity` is always set from {@link severity}.
   * @default - only `severity`
   */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RecordSpec {
  /** `level:metric:operations`, e.g. `bitpin_app:http_latency_slo_miss:ratio_rate5m`. */
  readonly record: string;
  readonly expr: string;
  /** @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** An alerting rule as Prometheus reads it from a rule file. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: PromDuration;
  readonly labels: Readonly<Record<string, string>> & { readonly severity: Severity };
  readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url: string };
}

/** A recording rule as Prometheus reads it from a rule file. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export type Rule = AlertingRule | RecordingRule;

/** A rule group as Prometheus reads it from a rule file. */
export interface RuleGroup {
  readonly name: string;
  /** @default - the global evaluation interval */
  readonly interval?: PromDuration;
  readonly rules: readonly Rule[];
}

/** One generated rule file. */
export interface PrometheusRuleFile {
  /** File name, `<topic>.rules.yaml`. */
  readonly fileName: string;
  readonly groups: readonly RuleGroup[];
  /** The file's content (what `promtool check rules` and Prometheus read). */
  readonly yaml: string;
}

export function isAlertingRule(rule: Rule): rule is AlertingRule {
  return 'alert' in rule;
}

const ALERT_NAME = /^[A-Z][A-Za-z0-9]*$/;
const RECORD_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DURATION = /^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$/;
const FILE_NAME = /^[a-z0-9][a-z0-9-]*\.rules\.yaml$/;

/** Returns the duration in seconds, or undefined when `d` is not a Prometheus duration. */
export function durationSeconds(d: string): number | undefined {
  const m = DURATION.exec(d);
  if (!m || d === '') return undefined;
  const n = (i: number) => Number(m[i] ?? 0);
  return n(2) * 365 * 86400 + n(4) * 7 * 86400 + n(6) * 86400 + n(8) * 3600 + n(10) * 60 + n(12) + n(14) / 1000;
}

/** Checks of an alert spec: the field, what is allowed, and the test. Kept in one table. */
const ALERT_CHECKS: ReadonlyArray<{ field: keyof AlertSpec; allowed: string; ok: (s: AlertSpec) => boolean }> = [
  { field: 'name', allowed: 'UpperCamelCase letters and digits, e.g. "BitpinAppDown"', ok: (s) => ALERT_NAME.test(s.name) },
  { field: 'expr', allowed: 'a non-empty PromQL expression', ok: (s) => s.expr.trim().length > 0 },
  {
    field: 'for',
    allowed: 'a Prometheus duration such as "5m" or "1h30m"',
    ok: (s) => s.for === undefined || durationSeconds(s.for) !== undefined,
  },
  { field: 'severity', allowed: SEVERITIES.join(' | '), ok: (s) => (SEVERITIES as readonly string[]).includes(s.severity) },
  { field: 'summary', allowed: 'one non-empty line', ok: (s) => s.summary.trim().length > 0 && !s.summary.includes('\n') },
  { field: 'description', allowed: 'a non-empty text', ok: (s) => s.description.trim().length > 0 },
  {
    field: 'runbookUrl',
    allowed: 'an https:// URL',
    ok: (s) => s.runbookUrl === undefined || /^https:\/\/\S+$/.test(s.runbookUrl),
  },
  {
    field: 'labels',
    allowed: 'label names matching [a-zA-Z_][a-zA-Z0-9_]*, not "severity" (set it with the severity field)',
    ok: (s) => Object.keys(s.labels ?? {}).every((k) => LABEL_NAME.test(k) && k !== 'severity' && !k.startsWith('__')),
  },
];

/** Builds an alerting rule; throws when the spec is invalid. */
export function alert(spec: AlertSpec): AlertingRule {
  for (const check of ALERT_CHECKS) {
    if (!check.ok(spec)) {
      const value = spec[check.field];
      throw new Error(
        `alert '${spec.name}': '${check.field}' (${JSON.stringify(value)}) is invalid; expected ${check.allowed}`,
      );
    }
  }
  return {
    alert: spec.name,
    expr: spec.expr.trim(),
    ...(spec.for !== undefined ? { for: spec.for } : {}),
    labels: { ...spec.labels, severity: spec.severity },
    annotations: {
      summary: spec.summary,
      description: spec.description,
      runbook_url: spec.runbookUrl ?? runbookUrl(spec.name),
    },
  };
}

/** Builds a recording rule; throws when the name or expression is invalid. */
export function record(spec: RecordSpec): RecordingRule {
  if (!RECORD_NAME.test(spec.record)) {
    throw new Error(`record '${spec.record}': 'record' is invalid; expected a metric name such as "level:metric:operations"`);
  }
  if (spec.expr.trim().length === 0) throw new Error(`record '${spec.record}': 'expr' is empty; expected PromQL`);
  return { record: spec.record, expr: spec.expr.trim(), ...(spec.labels ? { labels: { ...spec.labels } } : {}) };
}

/** The runbook URL of an alert. */
export function runbookUrl(alertName: string): string {
  return `${RUNBOOK_BASE_URL}${alertName}.md`;
}

/** Groups rules; throws on an empty group or on two alerts with the same name and severity. */
export function ruleGroup(name: string, rules: readonly Rule[], options: { interval?: PromDuration } = {}): RuleGroup {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) {
    throw new Error(`rule group '${name}': 'name' is invalid; expected lower-case letters, digits, ".", "_" or "-"`);
  }
  if (rules.length === 0) throw new Error(`rule group '${name}': 'rules' is empty; add at least one rule`);
  if (options.interval !== undefined && durationSeconds(options.interval) === undefined) {
    throw new Error(`rule group '${name}': 'interval' (${JSON.stringify(options.interval)}) is not a Prometheus duration`);
  }
  return { name, ...(options.interval !== undefined ? { interval: options.interval } : {}), rules };
}

/** Renders a rule file; throws on a bad file name, duplicate group names or duplicate alerts. */
export function ruleFile(fileName: string, groups: readonly RuleGroup[]): PrometheusRuleFile {
  if (!FILE_NAME.test(fileName)) {
    throw new Error(`rule file '${fileName}': 'fileName' is invalid; expected "<topic>.rules.yaml" in lower case`);
  }
  const seenGroups = new Set<string>();
  const seenAlerts = new Set<string>();
  for (const g of groups) {
    if (seenGroups.has(g.name)) throw new Error(`rule file '${fileName}': group '${g.name}' is defined twice`);
    seenGroups.add(g.name);
    for (const r of g.rules) {
      if (!isAlertingRule(r)) continue;
      const id = `${r.alert}/${r.labels.severity}`;
      if (seenAlerts.has(id)) {
        throw new Error(`rule file '${fileName}': alert '${r.alert}' with severity '${r.labels.severity}' is defined twice`);
      }
      seenAlerts.add(id);
    }
  }
  return { fileName, groups, yaml: renderRuleFile(groups) };
}

function renderRuleFile(groups: readonly RuleGroup[]): string {
  return toYaml({ groups: groups as unknown as YamlValue }, ['Generated by dashboards/ (npx nx run dashboards:generate). Do not edit by hand.']);
}

/** Every alerting rule of some rule files, in file order. */
export function alertingRules(files: readonly PrometheusRuleFile[]): AlertingRule[] {
  return files.flatMap((f) => f.groups.flatMap((g) => g.rules.filter(isAlertingRule)));
}
