/**
 * Opt-in, outside the test count: every LogQL query of the dashboards parses and runs on a real
 * Loki. No Loki runs on this machine (loki/v3 is AGPL and is never built here), so this is not a
 * test of `dashboards:test` but the target `LOKI_URL=http://… npx nx run dashboards:check-logql`
 * (test/check-logql.vitest.config.ts). test/logql.test.ts checks the queries without Loki.
 */
import { loadEnvConfig } from '@bitpin/config';
import { expect, it } from 'vitest';
import { buildDashboards } from '../src/index.js';
import { queriesOf, substituteVariables } from './dashboard-queries.js';

const LOKI_URL = process.env['LOKI_URL'];
if (!LOKI_URL) throw new Error('LOKI_URL is not set: point it at a Loki 3.x (e.g. LOKI_URL=http://127.0.0.1:3100 npx nx run dashboards:check-logql)');

const logql = buildDashboards(loadEnvConfig('dev'))
  .flatMap((d) => queriesOf(d))
  .filter((q) => q.language === 'logql');

it(`all ${logql.length} LogQL queries parse on the real Loki at ${LOKI_URL}`, async () => {
  const failures: string[] = [];
  for (const q of logql) {
    const expr = substituteVariables(q.expr, { namespace: '.+', pod: '.+' });
    const res = await fetch(`${LOKI_URL}/loki/api/v1/query_range?${new URLSearchParams({ query: expr, limit: '10' })}`, { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) failures.push(`${q.dashboard} / ${q.panel} / ${q.refId}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  }
  expect(failures).toEqual([]);
});
