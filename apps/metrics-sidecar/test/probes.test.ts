import { METRICS, businessMetricName } from '@bitpin/metrics-contract';
import { describeWithPostgres, freePort } from '@bitpin/test-support';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { parseExposition, sample } from './support/exposition.js';
import { removeTempFiles, tempFile } from './support/files.js';
import { startPgPair, type PgPair } from './support/postgres.js';
import { startSidecar, type RunningSidecar } from './support/sidecar.js';
import { startUpstream, type Upstream } from './support/upstream.js';

const UP = METRICS.probeUp.name;
const PROBE_COUNT = `${METRICS.probeDuration.name}_count`;
const ERRORS = METRICS.businessQueryErrors.name;

let pg: PgPair;
let upstream: Upstream;
let sidecar: RunningSidecar | undefined;

/** Every suite here needs a real PostgreSQL 15: under CI a missing one fails them, locally it skips them. */
const describeWithPg = describeWithPostgres(['pg_basebackup']);

beforeAll(async () => {
  if (describeWithPg.decision.action !== 'run') return;
  pg = await startPgPair();
  upstream = await startUpstream();
}, 120_000);

afterAll(async () => {
  await upstream?.close();
  pg?.stop();
  removeTempFiles();
}, 60_000);

afterEach(async () => {
  await sidecar?.close();
  sidecar = undefined;
  if (upstream) upstream.healthStatus = 200;
});

/** The app secret's values as libs/app passes them, TLS verified against the cluster CA. */
function dbEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    SIDECAR_UPSTREAM_URL: upstream.url,
    DB_HOST: '127.0.0.1',
    DB_PORT: String(pg.primaryPort),
    SIDECAR_DB_RO_HOST: '127.0.0.1',
    SIDECAR_DB_RO_PORT: String(pg.standbyPort),
    DB_NAME: pg.database,
    DB_USER: pg.appUser,
    DB_PASSWORD: pg.appPassword,
    PGSSLMODE: 'verify-full',
    PGSSLROOTCERT: pg.caFile,
    SIDECAR_PROBE_TIMEOUT_MS: '3000',
    ...overrides,
  };
}

function queriesFile(yaml: string): string {
  return tempFile('queries.yaml', yaml);
}

describeWithPg('probes', () => {
  it('reports the app and PostgreSQL rw and ro up, with latency, over verify-full TLS', async () => {
    sidecar = await startSidecar(dbEnv());
    // Series exist (at 0) before the first probe, so "absent" never means "down".
    expect(sample(await sidecar.scrape(), UP, { target: 'postgres_ro' })).toBe(0);
    await sidecar.app.probes.probeOnce();
    await sidecar.app.probes.probeOnce();
    const m = parseExposition(await sidecar.scrape());
    for (const target of ['app', 'postgres_rw', 'postgres_ro']) {
      expect(sample(m, UP, { target })).toBe(1);
      expect(sample(m, PROBE_COUNT, { target })).toBe(2);
    }
    expect(upstream.probes).toBe(2);
    expect(upstream.lastHeaders?.['user-agent']).toBe('metrics-sidecar-probe');
  });

  it('reports the app down when its health path fails or nothing listens', async () => {
    upstream.healthStatus = 503;
    sidecar = await startSidecar({ SIDECAR_UPSTREAM_URL: upstream.url });
    await sidecar.app.probes.probeOnce();
    expect(sample(await sidecar.scrape(), UP, { target: 'app' })).toBe(0);
    upstream.healthStatus = 200;
    await sidecar.app.probes.probeOnce();
    expect(sample(await sidecar.scrape(), UP, { target: 'app' })).toBe(1);
    await sidecar.close();

    sidecar = await startSidecar({ SIDECAR_UPSTREAM_URL: `http://127.0.0.1:${await freePort()}` });
    await sidecar.app.probes.probeOnce();
    const m = await sidecar.scrape();
    expect(sample(m, UP, { target: 'app' })).toBe(0);
    // Failed probes are not latency samples.
    expect(sample(m, PROBE_COUNT, { target: 'app' })).toBeUndefined();
  });

  it('checks the server name with verify-full, and only the CA with verify-ca', async () => {
    // The certificate names 127.0.0.1 only; "localhost" reaches the same server under another name.
    sidecar = await startSidecar(dbEnv({ DB_HOST: 'localhost', SIDECAR_DB_RO_HOST: 'localhost' }));
    await sidecar.app.probes.probeOnce();
    expect(sample(await sidecar.scrape(), UP, { target: 'postgres_rw' })).toBe(0);
    await sidecar.close();

    sidecar = await startSidecar(dbEnv({ DB_HOST: 'localhost', SIDECAR_DB_RO_HOST: 'localhost', PGSSLMODE: 'verify-ca' }));
    await sidecar.app.probes.probeOnce();
    expect(sample(await sidecar.scrape(), UP, { target: 'postgres_rw' })).toBe(1);
  });

  it('reports PostgreSQL down for an unknown CA and for a closed port', async () => {
    sidecar = await startSidecar(dbEnv({ PGSSLROOTCERT: pg.otherCaFile }));
    await sidecar.app.probes.probeOnce();
    let m = parseExposition(await sidecar.scrape());
    expect(sample(m, UP, { target: 'postgres_rw' })).toBe(0);
    expect(sample(m, UP, { target: 'postgres_ro' })).toBe(0);
    await sidecar.close();

    sidecar = await startSidecar(dbEnv({ SIDECAR_DB_RO_PORT: String(await freePort()) }));
    await sidecar.app.probes.probeOnce();
    m = parseExposition(await sidecar.scrape());
    expect(sample(m, UP, { target: 'postgres_rw' })).toBe(1);
    expect(sample(m, UP, { target: 'postgres_ro' })).toBe(0);
  });
});

describeWithPg('business queries', () => {
  const yaml = `queries:
  - name: open_orders
    help: Orders waiting to match
    sql: SELECT count(*) AS value FROM orders WHERE status = 'open'
  - name: sneaky_write
    help: Must not be able to write
    sql: INSERT INTO orders (market, status) VALUES ('X-Y', 'open') RETURNING 1 AS value
  - name: orders_by_market
    help: Orders per market
    sql: SELECT market, count(*) AS value FROM orders GROUP BY market
    labels: [market]
  - name: too_slow
    help: Cut by statement_timeout
    sql: SELECT 1 AS value FROM pg_sleep(5)
  - name: not_a_number
    help: A value that is not numeric
    sql: SELECT 'abc' AS value
  - name: on_replica
    help: 1 when the query ran on a standby
    sql: SELECT pg_is_in_recovery()::int AS value
`;

  it('turns each query into a gauge, run read-only on the ro service with a statement timeout', async () => {
    // GIVEN six queries, three of which must fail (a write, a slow one, a non-number)
    sidecar = await startSidecar(dbEnv({ SIDECAR_QUERIES_FILE: queriesFile(yaml), SIDECAR_QUERY_TIMEOUT_MS: '300' }));
    // WHEN one round runs
    const t0 = Date.now();
    await sidecar.app.probes.queryOnce();
    const elapsed = Date.now() - t0;
    // THEN the good ones are gauges, the bad ones counted as errors, and later queries still ran
    const m = parseExposition(await sidecar.scrape());
    expect(sample(m, businessMetricName('open_orders'))).toBe(3);
    expect(sample(m, businessMetricName('orders_by_market'), { market: 'BTC-USDT' })).toBe(2);
    expect(sample(m, businessMetricName('orders_by_market'), { market: 'ETH-USDT' })).toBe(2);
    expect(sample(m, businessMetricName('orders_by_market'), { market: 'USDT-IRT' })).toBe(1);
    expect(sample(m, businessMetricName('on_replica'))).toBe(1);
    for (const query of ['open_orders', 'orders_by_market', 'on_replica']) {
      expect(sample(m, ERRORS, { query })).toBe(0);
      expect(sample(m, METRICS.businessQueryLastSuccess.name, { query })).toBeGreaterThan(Date.now() / 1000 - 60);
    }
    for (const query of ['sneaky_write', 'too_slow', 'not_a_number']) expect(sample(m, ERRORS, { query })).toBe(1);
    // pg_sleep(5) was cancelled by the 300 ms statement timeout, not waited for.
    expect(elapsed).toBeLessThan(5_000);
    expect(pg.sql('SELECT count(*) FROM orders')).toBe('5');
  });

  it('cannot write even when the ro service points at the primary', async () => {
    sidecar = await startSidecar(dbEnv({ SIDECAR_QUERIES_FILE: queriesFile(yaml), SIDECAR_DB_RO_PORT: String(pg.primaryPort), SIDECAR_QUERY_TIMEOUT_MS: '300' }));
    await sidecar.app.probes.queryOnce();
    const m = parseExposition(await sidecar.scrape());
    expect(sample(m, ERRORS, { query: 'sneaky_write' })).toBe(1);
    expect(sample(m, businessMetricName('on_replica'))).toBe(0);
    expect(pg.sql('SELECT count(*) FROM orders')).toBe('5');
  });

  it('counts every query as failed when the database is unreachable', async () => {
    sidecar = await startSidecar(dbEnv({ SIDECAR_QUERIES_FILE: queriesFile(yaml), SIDECAR_DB_RO_PORT: String(await freePort()) }));
    await sidecar.app.probes.queryOnce();
    const m = parseExposition(await sidecar.scrape());
    expect(sample(m, ERRORS, { query: 'open_orders' })).toBe(1);
    // Never measured is absent, not 0.
    expect(sample(m, businessMetricName('open_orders'))).toBeUndefined();
    expect(sample(m, METRICS.businessQueryLastSuccess.name, { query: 'open_orders' })).toBeUndefined();
  });
});
