import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { alertingRules, type AlertingRule, type PrometheusRuleFile, type Severity } from '../src/index.js';
import { toYaml, type YamlValue } from '../src/yaml.js';

const run = promisify(execFile);

/*
 * promtool unit-test files (prometheus docs/configuration/unit_testing_rules.md) as TypeScript
 * types, so the cases are type-checked and can refer to the generated rules.
 */
export interface InputSeries {
  readonly series: string;
  /** Expanding notation: `0+10x20`, `1 1 0x10`, `_` (missing), `stale`. */
  readonly values: string;
}
export interface ExpAlert {
  readonly exp_labels: Readonly<Record<string, string>>;
  readonly exp_annotations: Readonly<Record<string, string>>;
}
export interface AlertCheck {
  readonly eval_time: string;
  readonly alertname: string;
  /** Empty: the alert must not be firing at `eval_time`. */
  readonly exp_alerts: readonly ExpAlert[];
}
export interface PromtoolCase {
  readonly name: string;
  /** Interval of the input series. @default 1m */
  readonly interval?: string;
  readonly input_series: readonly InputSeries[];
  readonly alert_rule_test: readonly AlertCheck[];
}

/** One input series: `metric{labels}` and its values. */
export function series(metric: string, labels: Readonly<Record<string, string>>, values: string): InputSeries {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return { series: `${metric}{${l}}`, values };
}

/** Looks up generated alerting rules by name and severity. */
export class RuleIndex {
  readonly rules: readonly AlertingRule[];
  constructor(files: readonly PrometheusRuleFile[]) {
    this.rules = alertingRules(files);
  }

  get(name: string, severity?: Severity): AlertingRule {
    const found = this.rules.filter((r) => r.alert === name && (severity === undefined || r.labels.severity === severity));
    if (found.length !== 1) {
      throw new Error(`expected exactly one generated alert ${name}${severity ? `/${severity}` : ''}, found ${found.length}`);
    }
    return found[0] as AlertingRule;
  }

  /** The alert a check expects: the series labels plus severity; the expanded summary/description; the runbook URL. */
  fired(
    name: string,
    severity: Severity,
    labels: Readonly<Record<string, string>>,
    text: { summary: string; description: string },
  ): ExpAlert {
    const rule = this.get(name, severity);
    return {
      exp_labels: { ...labels, ...rule.labels },
      exp_annotations: { ...text, runbook_url: rule.annotations.runbook_url },
    };
  }
}

/** A check that `alertname` is not firing at `at`. */
export const silent = (alertname: string, at: string): AlertCheck => ({ eval_time: at, alertname, exp_alerts: [] });

/** A check that exactly `alerts` of `alertname` are firing at `at`. */
export const firing = (alertname: string, at: string, ...alerts: ExpAlert[]): AlertCheck => ({
  eval_time: at,
  alertname,
  exp_alerts: alerts,
});

export interface PromtoolRun {
  readonly ok: boolean;
  readonly output: string;
}

/** Runs a promtool binary with the given arguments (in `cwd`); never throws on a failing check. */
export async function promtool(bin: string, args: readonly string[], cwd?: string): Promise<PromtoolRun> {
  try {
    const r = await run(bin, [...args], { cwd, maxBuffer: 64 * 1024 * 1024 });
    return { ok: true, output: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message };
  }
}

/**
 * Writes the rule files and one test file per rule file (`<name>.test.yaml`, listing only that
 * rule file) into a fresh temp dir. Returns the dir and the test file names.
 */
export async function writePromtoolSuite(
  files: readonly PrometheusRuleFile[],
  casesByFile: Readonly<Record<string, readonly PromtoolCase[]>>,
  label: string,
): Promise<{ dir: string; testFiles: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), `bitpin-promtool-${label}-`));
  await mkdir(dir, { recursive: true });
  const testFiles: string[] = [];
  for (const f of files) {
    await writeFile(join(dir, f.fileName), f.yaml);
    const cases = casesByFile[f.fileName] ?? [];
    if (cases.length === 0) continue;
    const testFile = f.fileName.replace(/\.rules\.yaml$/, '.test.yaml');
    const doc = {
      rule_files: [f.fileName],
      evaluation_interval: '1m',
      tests: cases.map((c) => ({ ...c, interval: c.interval ?? '1m' })),
    };
    await writeFile(join(dir, testFile), toYaml(doc as unknown as YamlValue));
    testFiles.push(testFile);
  }
  return { dir, testFiles };
}
