/**
 * The LogQL queries of the dashboards, checked without a Loki (none runs here: loki/v3 is AGPL and
 * is never built on this machine). Against a real Loki: `LOKI_URL=… npx nx run dashboards:check-logql`.
 */
import { loadEnvConfig } from '@bitpin/config';
import { describe, expect, it } from 'vitest';
import { buildDashboards } from '../src/index.js';
import { queriesOf, substituteVariables } from './dashboard-queries.js';

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
      for (const [, range] of expr.matchAll(/\[([^\]]*)\]/g)) if (!/^\d+(ms|s|m|h|d)$/.test(range!.trim())) problems.push(`bad range [${range}]: ${where}`);
    }
    expect(problems).toEqual([]);
  });
});
