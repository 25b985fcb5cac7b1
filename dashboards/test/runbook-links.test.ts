/**
 * Runbook links on the dashboards (issue 19): every alert's runbook is linked from a panel the
 * alert watches, and every runbook link of a panel is right — the alert exists, its runbook file
 * exists, and the panel queries what the alert evaluates (a metric of the alert's expression,
 * recording rules expanded to the metrics they read; for a scrape-job alert on `up`, `up` of that
 * job or of every job; for the Watchdog, its ALERTS series).
 */
import { ENV_NAMES, loadEnvConfig } from '@bitpin/config';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alertingRules, buildDashboards, buildRuleFiles, isAlertingRule, RUNBOOK_BASE_URL, RUNBOOK_DIR, type AlertingRule } from '../src/index.js';
import { panelsOf, queriesOf } from './dashboard-queries.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** PromQL words that are not metric names. */
const NOT_METRICS = new Set(
  (
    'sum by without on ignoring group_left group_right and or unless bool offset rate irate increase delta deriv changes resets ' +
    'max min avg count stddev stdvar topk bottomk quantile group count_values absent absent_over_time present_over_time vector scalar time timestamp ' +
    'histogram_quantile clamp clamp_min clamp_max label_replace label_join predict_linear abs ceil floor round sqrt exp ln log2 log10 sgn sort sort_desc ' +
    'max_over_time min_over_time avg_over_time sum_over_time count_over_time last_over_time quantile_over_time stddev_over_time ' +
    'day_of_week day_of_month days_in_month hour minute month year inf nan'
  ).split(' '),
);

/** The metric names an expression reads (selectors' label matchers, ranges and grouping labels dropped). */
function metricsOf(expr: string): Set<string> {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  return new Set([...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !NOT_METRICS.has(w)));
}

/** The `job` values an expression selects on. */
const jobsOf = (expr: string) => new Set([...expr.matchAll(/\bjob="([^"]+)"/g)].map((m) => m[1]!));

/** Every env of the repository, plus the VictoriaLogs store with vlagent (its alerts and panels differ). */
const ENVS = [...ENV_NAMES.map((n) => [n, loadEnvConfig(n)] as const), ['dev-victorialogs', loadEnvConfig('dev', { overrides: { logging: { backend: 'victorialogs', agent: 'vlagent' } } })] as const];

describe.each(ENVS)('runbook links of the dashboards of env %s', (_envName, env) => {
  const files = buildRuleFiles(env);
  const alerts = alertingRules(files);
  const records = new Map(files.flatMap((f) => f.groups.flatMap((g) => g.rules.filter((r) => !isAlertingRule(r)))).map((r) => [(r as { record: string }).record, r.expr]));
  /** The metrics of some expressions, recording rules replaced by what they read. */
  const expanded = (exprs: readonly string[]) => {
    const out = new Set<string>();
    const add = (m: string) => (records.has(m) ? metricsOf(records.get(m)!).forEach(add) : out.add(m));
    for (const e of exprs) metricsOf(e).forEach(add);
    return out;
  };
  const alertMetrics = (rules: readonly AlertingRule[]) => expanded(rules.map((r) => r.expr));
  const panels = buildDashboards(env).flatMap((d) =>
    panelsOf(d).map((p) => ({
      where: `${d.uid} / ${p.title}`,
      exprs: queriesOf(d).filter((q) => q.panel === p.title).map((q) => q.expr),
      runbooks: ((p as { links?: Array<{ url: string }> }).links ?? [])
        .map((l) => l.url)
        .filter((u) => u.startsWith(RUNBOOK_BASE_URL) && !u.includes('${'))
        .map((u) => u.slice(RUNBOOK_BASE_URL.length).replace(/\.md$/, '')),
    })),
  );

  it('every alert is linked from at least one panel', () => {
    const linked = new Set(panels.flatMap((p) => p.runbooks));
    expect([...new Set(alerts.map((a) => a.alert))].filter((a) => !linked.has(a))).toEqual([]);
  });

  it('every runbook link of a panel names an alert with a runbook file, and the panel queries what the alert evaluates', () => {
    const problems: string[] = [];
    let links = 0;
    for (const p of panels) {
      const used = expanded(p.exprs);
      for (const name of p.runbooks) {
        links++;
        const rules = alerts.filter((a) => a.alert === name);
        if (rules.length === 0) {
          problems.push(`${p.where}: links ${name}, which is no alert`);
          continue;
        }
        if (!existsSync(resolve(ROOT, RUNBOOK_DIR, `${name}.md`))) problems.push(`${p.where}: ${RUNBOOK_DIR}/${name}.md is missing`);
        const metrics = alertMetrics(rules);
        const specific = [...metrics].filter((m) => m !== 'up');
        let ok: boolean;
        if (metrics.size === 0) {
          ok = p.exprs.some((e) => e.includes('ALERTS') && e.includes(`alertname="${name}"`));
        } else if (specific.length === 0) {
          // An alert on `up` only: the panel reads `up` of the alert's job(s), or of every job.
          const jobs = new Set(rules.flatMap((r) => [...jobsOf(r.expr), ...(r.labels['job'] ? [r.labels['job']] : [])]));
          ok = p.exprs.some((e) => metricsOf(e).has('up') && (jobsOf(e).size === 0 || [...jobs].some((j) => jobsOf(e).has(j))));
        } else {
          ok = specific.some((m) => used.has(m));
        }
        if (!ok) problems.push(`${p.where}: links ${name} but queries none of ${[...metrics].join(', ') || `ALERTS{alertname="${name}"}`}`);
      }
    }
    expect(problems).toEqual([]);
    expect(links).toBeGreaterThanOrEqual(new Set(alerts.map((a) => a.alert)).size);
  });

  it('a runbook link opens the runbook in a new tab and is titled with the alert', () => {
    for (const d of buildDashboards(env)) {
      for (const p of panelsOf(d)) {
        for (const l of (p as { links?: Array<Record<string, unknown>> }).links ?? []) {
          if (!String(l['url']).startsWith(RUNBOOK_BASE_URL)) continue;
          expect(l, `${d.uid} / ${p.title}`).toMatchObject({ type: 'link', targetBlank: true, title: expect.stringMatching(/^Runbook: /) });
        }
      }
    }
  });
});
