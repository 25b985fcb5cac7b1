/**
 * The LogQL queries of the dashboards, checked without a Loki (none runs here: loki/v3 is AGPL and
 * is never built on this machine). Against a real Loki: `LOKI_URL=… npx nx run dashboards:check-logql`.
 */
import { loadEnvConfig } from '@bitpin/config';
import { describe, expect, it } from 'vitest';
import { ERROR_FILTER } from '../src/grafana/logs/index.js';
import { buildDashboards } from '../src/index.js';
import { queriesOf, substituteVariables } from './dashboard-queries.js';
import { ERRORS, NOT_ERRORS } from './support/log-lines.js';

const logql = buildDashboards(loadEnvConfig('dev'))
  .flatMap((d) => queriesOf(d))
  .filter((q) => q.language === 'logql');

/** The query with its string literals emptied (their content may hold any bracket or quote). */
function withoutStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, '""');
}

function balanced(expr: string): boolean {
  const open: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const c of withoutStrings(expr)) {
    if (c === '(' || c === '[' || c === '{') open.push(c);
    else if (c in pairs && open.pop() !== pairs[c]) return false;
  }
  return open.length === 0 && !/["`]/.test(withoutStrings(expr).replace(/""/g, ''));
}

describe('LogQL queries of the dashboards (no Loki needed)', () => {
  it('exist, every one with a stream selector of namespace and pod matchers, balanced brackets and quotes, and no variable left after substitution', () => {
    expect(logql.length).toBeGreaterThanOrEqual(3);
    const problems: string[] = [];
    for (const q of logql) {
      const expr = substituteVariables(q.expr, { namespace: '.+', pod: '.+' });
      const where = `${q.dashboard} / ${q.panel} / ${q.refId}: ${q.expr}`;
      const selectors = [...expr.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
      if (selectors.length === 0) problems.push(`no stream selector: ${where}`);
      for (const sel of selectors) {
        const matchers = sel.split(',').map((m) => m.trim());
        if (!matchers.every((m) => /^[a-zA-Z_]\w*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"$/.test(m))) problems.push(`bad matcher in {${sel}}: ${where}`);
        for (const label of ['namespace', 'pod']) if (!matchers.some((m) => m.startsWith(label))) problems.push(`no ${label} matcher: ${where}`);
      }
      if (!balanced(expr)) problems.push(`unbalanced: ${where}`);
      if (/\$/.test(expr)) problems.push(`variable left: ${expr}`);
      for (const [, range] of withoutStrings(expr).matchAll(/\[([^\]]*)\]/g)) if (!/^\d+(ms|s|m|h|d)$/.test(range!.trim())) problems.push(`bad range [${range}]: ${where}`);
    }
    expect(problems).toEqual([]);
  });
});

/**
 * The error filter's pipeline run on log lines as Loki runs it, without Loki: line filters
 * (`|~ "re"`), `| regexp` parsers (named groups become labels; no match extracts nothing) and a
 * label filter of `=~` matchers joined by `or` (anchored, as Loki's label matchers are). Regexes
 * are RE2; the ones used here are also valid JavaScript once `(?P<` is `(?<` and a leading `(?i)`
 * is the `i` flag (anything else RE2-only fails the conversion).
 */
function re2(pattern: string): RegExp {
  const flags = pattern.startsWith('(?i)') ? 'i' : '';
  const body = pattern.replace(/^\(\?i\)/, '').replace(/\(\?P</g, '(?<');
  if (/\(\?(?![:<])/.test(body)) throw new Error(`RE2 construct not converted: ${pattern}`);
  return new RegExp(body, flags);
}

/** The stages of a pipeline (`|~ "…"`, `| regexp \`…\``, `| a=~"…" or …`), split outside strings. */
function stages(pipeline: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < pipeline.length; i++) {
    const c = pipeline[i]!;
    if (c === '"' || c === '`') {
      const literal = (c === '`' ? /^`[^`]*`/ : /^"(?:[^"\\]|\\.)*"/).exec(pipeline.slice(i))?.[0];
      if (literal === undefined) throw new Error(`unterminated string in ${pipeline}`);
      cur += literal;
      i += literal.length - 1;
    } else if (c === '|' && cur.trim() !== '' && /^\s*$/.test(pipeline.slice(i - 1, i))) {
      out.push(cur.trim());
      cur = '|';
    } else {
      cur += c;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Runs `pipeline` on one line: undefined when the line is filtered out, else the extracted labels. */
function runPipeline(pipeline: string, line: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  for (const stage of stages(pipeline)) {
    let m: RegExpExecArray | null;
    if ((m = /^\|~\s*("(?:[^"\\]|\\.)*")$/.exec(stage))) {
      if (!re2(JSON.parse(m[1]!) as string).test(line)) return undefined;
    } else if ((m = /^\|\s*regexp\s*`([^`]*)`$/.exec(stage))) {
      const groups = re2(m[1]!).exec(line)?.groups ?? {};
      for (const [k, v] of Object.entries(groups)) if (v !== undefined) labels[k] = v;
    } else if ((m = /^\|\s*(.+)$/.exec(stage))) {
      const alternatives = m[1]!.split(/\s+or\s+/).map((a) => {
        const am = /^(\w+)=~("(?:[^"\\]|\\.)*")$/.exec(a.trim());
        if (!am) throw new Error(`label filter not understood: ${a}`);
        const rx = re2(JSON.parse(am[2]!) as string);
        return (l: Record<string, string>) => new RegExp(`^(?:${rx.source})$`, rx.flags).test(l[am[1]!] ?? '');
      });
      if (!alternatives.some((f) => f(labels))) return undefined;
    } else {
      throw new Error(`stage not understood: ${stage}`);
    }
  }
  return labels;
}

describe('the LogQL error filter (level parsed from the line, not the word "error" anywhere)', () => {
  const OLD_SUBSTRING_FILTER = /(error|exception|traceback|critical|fatal|panic)/i;

  it('every error-counting query of the dashboards uses it', () => {
    const errorQueries = logql.filter((q) => /error/i.test(q.panel));
    expect(errorQueries.map((q) => q.panel)).toEqual(expect.arrayContaining(['Error lines by app', 'Error share by app', 'Recent error lines']));
    for (const q of errorQueries) expect(q.expr, `${q.dashboard} / ${q.panel}`).toContain(ERROR_FILTER);
    // No other line filter on "error" anywhere.
    for (const q of logql) expect(q.expr.replace(ERROR_FILTER, ''), `${q.dashboard} / ${q.panel}`).not.toMatch(/\|~[^|]*err/i);
  });

  it.each(ERRORS)('counts an error line: %s', (_what, line) => {
    expect(runPipeline(ERROR_FILTER, line)).toBeDefined();
  });

  it.each(NOT_ERRORS)('does not count a line that merely contains "error": %s', (_what, line) => {
    expect(OLD_SUBSTRING_FILTER.test(line), 'the old substring filter counted it').toBe(true);
    expect(runPipeline(ERROR_FILTER, line)).toBeUndefined();
  });

  it('extracts the level of each format into the label `level` (the PostgreSQL record severity into `pg_severity`)', () => {
    expect(runPipeline(ERROR_FILTER, ERRORS[0]![1])).toMatchObject({ level: 'error' });
    expect(runPipeline(ERROR_FILTER, ERRORS[3]![1])).toMatchObject({ level: 'ERROR' });
    expect(runPipeline(ERROR_FILTER, ERRORS[5]![1])).toMatchObject({ level: 'info', pg_severity: 'ERROR' });
    expect(runPipeline(ERROR_FILTER, ERRORS[6]![1])).toMatchObject({ level: 'ERROR' });
  });
});
