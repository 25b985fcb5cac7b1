import { performance } from 'node:perf_hooks';
import { METRICS, businessMetricName, type ProbeTarget } from '@bitpin/metrics-contract';
import type pg from 'pg';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import { BUSINESS_QUERY_MAX_ROWS, type BusinessQuery, type PgTarget, type SidecarConfig } from './config.js';
import { connect } from './postgres.js';

export interface ProbesOptions {
  readonly config: SidecarConfig;
  readonly registry: Registry;
  readonly logger: Logger;
}

/**
 * Periodic checks that do not depend on traffic: the app's health path, PostgreSQL rw and ro
 * (connect + `SELECT 1` with the app's credentials), and the business queries. Rounds never
 * overlap; timers are unref'd and {@link stop} waits for a running round.
 */
export class Probes {
  private readonly up: Gauge<'target'>;
  private readonly duration: Histogram<'target'>;
  private readonly appPool: Pool;
  private readonly business: BusinessQueries | undefined;
  private readonly loops: Loop[] = [];

  constructor(private readonly opts: ProbesOptions) {
    const { config, registry } = opts;
    this.up = new Gauge({ name: METRICS.probeUp.name, help: METRICS.probeUp.help, labelNames: METRICS.probeUp.labelNames, registers: [registry] });
    this.duration = new Histogram({
      name: METRICS.probeDuration.name,
      help: METRICS.probeDuration.help,
      labelNames: METRICS.probeDuration.labelNames,
      buckets: [...METRICS.probeDuration.buckets],
      registers: [registry],
    });
    this.appPool = new Pool(config.upstream.origin, { connections: 1, headersTimeout: config.probes.timeoutMs, bodyTimeout: config.probes.timeoutMs });
    this.up.set({ target: 'app' }, 0);
    if (config.database) {
      this.up.set({ target: 'postgres_rw' }, 0);
      this.up.set({ target: 'postgres_ro' }, 0);
    }
    if (config.database && config.queries.items.length > 0) {
      this.business = new BusinessQueries(config.queries.items, config.database.ro, config.queries.timeoutMs, registry, opts.logger);
    }
  }

  start(): void {
    if (this.loops.length > 0) return;
    this.loops.push(new Loop(() => this.probeOnce(), this.opts.config.probes.intervalMs));
    if (this.business) {
      const b = this.business;
      this.loops.push(new Loop(() => b.runOnce(), this.opts.config.queries.intervalMs));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.loops.map((l) => l.stop()));
    this.loops.length = 0;
    await this.appPool.close();
  }

  /** One round of the app and database probes. */
  async probeOnce(): Promise<void> {
    const { config } = this.opts;
    const jobs = [this.check('app', () => this.probeApp())];
    if (config.database) {
      const { rw, ro } = config.database;
      jobs.push(this.check('postgres_rw', () => this.probePostgres(rw)));
      jobs.push(this.check('postgres_ro', () => this.probePostgres(ro)));
    }
    await Promise.all(jobs);
  }

  /** One round of the business queries (no-op without queries). */
  async queryOnce(): Promise<void> {
    await this.business?.runOnce();
  }

  private async check(target: ProbeTarget, run: () => Promise<void>): Promise<void> {
    const t0 = performance.now();
    try {
      await run();
      this.up.set({ target }, 1);
      this.duration.observe({ target }, (performance.now() - t0) / 1000);
    } catch (err) {
      this.up.set({ target }, 0);
      this.opts.logger.warn({ target, err: (err as Error).message, code: (err as NodeJS.ErrnoException).code }, 'probe failed');
    }
  }

  private async probeApp(): Promise<void> {
    const { config } = this.opts;
    const res = await this.appPool.request({
      path: config.healthPath,
      method: 'GET',
      headers: { 'user-agent': 'metrics-sidecar-probe' },
      signal: AbortSignal.timeout(config.probes.timeoutMs),
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 400) throw new Error(`${config.healthPath} answered ${res.statusCode}`);
  }

  private async probePostgres(t: PgTarget): Promise<void> {
    const client = await connect(t, this.opts.config.probes.timeoutMs);
    try {
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Runs `fn` now and then every `intervalMs` after the previous run ended. */
class Loop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly intervalMs: number,
  ) {
    this.tick();
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.fn()
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.intervalMs).unref();
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

/**
 * The queries file: each query becomes gauge `bitpin_business_<name>`. Every round opens one
 * connection to the ro service and runs each query in its own `READ ONLY` transaction with
 * `SET LOCAL statement_timeout`. A failed query counts in `sidecar_business_query_errors_total`
 * and keeps its last value (see `sidecar_business_query_last_success_timestamp_seconds`).
 */
class BusinessQueries {
  private readonly gauges = new Map<string, Gauge<string>>();
  private readonly errors: Counter<'query'>;
  private readonly lastSuccess: Gauge<'query'>;

  constructor(
    private readonly items: readonly BusinessQuery[],
    private readonly target: PgTarget,
    private readonly timeoutMs: number,
    private readonly registry: Registry,
    private readonly logger: Logger,
  ) {
    const m = METRICS;
    this.errors = new Counter({ name: m.businessQueryErrors.name, help: m.businessQueryErrors.help, labelNames: m.businessQueryErrors.labelNames, registers: [registry] });
    this.lastSuccess = new Gauge({
      name: m.businessQueryLastSuccess.name,
      help: m.businessQueryLastSuccess.help,
      labelNames: m.businessQueryLastSuccess.labelNames,
      registers: [registry],
    });
    for (const q of items) this.errors.inc({ query: q.name }, 0);
  }

  /** The query's gauge, created at its first success so that "never worked" is absent, not 0. */
  private gauge(q: BusinessQuery): Gauge<string> {
    let g = this.gauges.get(q.name);
    if (g === undefined) {
      g = new Gauge({ name: businessMetricName(q.name), help: q.help, labelNames: [...q.labels], registers: [this.registry] });
      this.gauges.set(q.name, g);
    }
    return g;
  }

  async runOnce(): Promise<void> {
    let client: pg.Client;
    try {
      // The client-side timeout is a backstop behind the server's statement_timeout.
      client = await connect(this.target, this.timeoutMs + 2_000);
    } catch (err) {
      for (const q of this.items) this.errors.inc({ query: q.name });
      this.logger.warn({ err: (err as Error).message, host: this.target.host }, 'business queries: cannot connect');
      return;
    }
    try {
      for (const q of this.items) await this.runQuery(client, q);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async runQuery(client: pg.Client, q: BusinessQuery): Promise<void> {
    try {
      await client.query('BEGIN TRANSACTION READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${Math.trunc(this.timeoutMs)}`);
      const result = (await client.query(q.sql)) as pg.QueryResult | pg.QueryResult[];
      await client.query('COMMIT');
      if (Array.isArray(result)) throw new Error('the query must be a single statement');
      this.apply(q, result);
      this.lastSuccess.set({ query: q.name }, Date.now() / 1000);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      this.errors.inc({ query: q.name });
      this.logger.warn({ query: q.name, err: (err as Error).message, code: (err as { code?: string }).code }, 'business query failed');
    }
  }

  private apply(q: BusinessQuery, r: pg.QueryResult): void {
    const rows = r.rows as Record<string, unknown>[];
    const valueOf = (row: Record<string, unknown>): number => {
      const raw = 'value' in row ? row['value'] : Object.values(row)[0];
      const v = typeof raw === 'number' ? raw : typeof raw === 'string' || typeof raw === 'bigint' ? Number(raw) : NaN;
      if (!Number.isFinite(v)) throw new Error(`value ${JSON.stringify(String(raw))} is not a number`);
      return v;
    };
    if (q.labels.length === 0) {
      const row = rows[0];
      if (row === undefined) throw new Error('the query returned no rows');
      const value = valueOf(row);
      this.gauge(q).set(value);
      return;
    }
    if (rows.length > BUSINESS_QUERY_MAX_ROWS) {
      this.logger.warn({ query: q.name, rows: rows.length, kept: BUSINESS_QUERY_MAX_ROWS }, 'business query returned too many rows');
    }
    const values = rows.slice(0, BUSINESS_QUERY_MAX_ROWS).map((row) => {
      const labels: Record<string, string> = {};
      for (const l of q.labels) labels[l] = String(row[l] ?? '');
      return { labels, value: valueOf(row) };
    });
    const gauge = this.gauge(q);
    gauge.reset();
    for (const { labels, value } of values) gauge.set(labels, value);
  }
}
