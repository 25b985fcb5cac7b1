import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ENV_VARS, loadConfig } from '../src/index.js';
import { removeTempFiles, tempFile as file } from './support/files.js';

afterAll(removeTempFiles);

function errorsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.lines;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults to the seed layout: proxy on 8080 → 127.0.0.1:8000, metrics on 9102, cap 200', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      mode: 'proxy',
      listenHost: '0.0.0.0',
      proxyPort: 8080,
      metricsPort: 9102,
      upstream: { origin: 'http://127.0.0.1:8000', connections: 64, timeoutMs: 60_000 },
      clientKeepAliveMs: 65_000,
      healthPath: '/healthz/',
      routes: { cap: 200, rules: [] },
      probes: { intervalMs: 10_000, timeoutMs: 2_000 },
      database: undefined,
      drainTimeoutMs: 20_000,
      logLevel: 'info',
      accessLog: false,
    });
  });

  it('reads the variables libs/app sets, and the app secret for the database', () => {
    const c = loadConfig({
      SIDECAR_MODE: 'observe',
      SIDECAR_LISTEN_PORT: '8081',
      SIDECAR_METRICS_PORT: '9103',
      SIDECAR_UPSTREAM_URL: 'http://127.0.0.1:8001/',
      SIDECAR_HEALTH_PATH: '/health/',
      SIDECAR_ROUTE_CARDINALITY_CAP: '500',
      DB_HOST: 'bitpin-cluster-rw',
      DB_PORT: '5433',
      DB_NAME: 'app',
      DB_USER: 'app',
      DB_PASSWORD: 's3cret',
      PGSSLMODE: 'require',
    });
    expect(c).toMatchObject({ mode: 'observe', proxyPort: 8081, metricsPort: 9103, healthPath: '/health/', routes: { cap: 500 } });
    expect(c.upstream.origin).toBe('http://127.0.0.1:8001');
    expect(c.database?.rw).toMatchObject({ host: 'bitpin-cluster-rw', port: 5433, database: 'app', user: 'app', password: 's3cret', sslMode: 'require' });
    // The ro service is derived from the rw one, as CloudNativePG names them.
    expect(c.database?.ro.host).toBe('bitpin-cluster-ro');
  });

  it('fails with one line per bad value, naming the variable and what is allowed', () => {
    const lines = errorsOf({
      SIDECAR_LISTEN_PORT: 'eighty',
      SIDECAR_MODE: 'sideways',
      SIDECAR_UPSTREAM_URL: 'https://127.0.0.1:8000',
      SIDECAR_ROUTE_CARDINALITY_CAP: '0',
      SIDECAR_ACCESS_LOG: 'maybe',
    });
    expect(lines).toEqual([
      'SIDECAR_MODE="sideways": must be one of proxy, observe',
      'SIDECAR_LISTEN_PORT="eighty": must be an integer from 1 to 65535',
      'SIDECAR_UPSTREAM_URL="https://127.0.0.1:8000": must be an http:// URL with host and port only, e.g. http://127.0.0.1:8000',
      'SIDECAR_ROUTE_CARDINALITY_CAP="0": must be an integer from 1 to 10000',
      'SIDECAR_ACCESS_LOG="maybe": must be true or false',
    ]);
  });

  it('fails for unknown SIDECAR_ variables (typos) and equal ports', () => {
    expect(errorsOf({ SIDECAR_LISTEN_PROT: '8080', SIDECAR_METRICS_PORT: '8080' })).toEqual([
      expect.stringMatching(/^SIDECAR_LISTEN_PROT: not a known variable \(known: SIDECAR_MODE, /),
      'SIDECAR_METRICS_PORT="8080": must differ from SIDECAR_LISTEN_PORT',
    ]);
  });

  it('fails for an incomplete database setting without showing the password', () => {
    const lines = errorsOf({ DB_HOST: 'db', DB_PASSWORD: 'hunter2', DB_PORT: 'x', PGSSLMODE: 'verify-full' });
    expect(lines).toEqual([
      'DB_PORT="x": must be an integer from 1 to 65535',
      'DB_NAME: required when DB_HOST is set',
      'DB_USER: required when DB_HOST is set',
      'PGSSLROOTCERT: required when PGSSLMODE is verify-full',
    ]);
    expect(lines.join('\n')).not.toContain('hunter2');
  });

  it('reads route rules and business queries from YAML files', () => {
    const routes = file('routes.yaml', 'rules:\n  - match: "^/api/v(\\\\d+)/orders/[^/]+/"\n    template: "/api/v$1/orders/:id/"\n');
    const queries = file(
      'queries.yaml',
      'queries:\n  - name: open_orders\n    help: Orders waiting to match\n    sql: SELECT count(*) AS value FROM orders\n  - name: by_market\n    help: Orders by market\n    sql: SELECT market, count(*) AS value FROM orders GROUP BY 1\n    labels: [market]\n',
    );
    const c = loadConfig({ SIDECAR_ROUTES_FILE: routes, SIDECAR_QUERIES_FILE: queries, DB_HOST: 'db', DB_NAME: 'app', DB_USER: 'app' });
    expect(c.routes.rules).toHaveLength(1);
    expect('/api/v2/orders/abc/fills'.replace(c.routes.rules[0]!.match, c.routes.rules[0]!.template)).toBe('/api/v2/orders/:id/fills');
    expect(c.queries.items.map((q) => [q.name, q.labels])).toEqual([
      ['open_orders', []],
      ['by_market', ['market']],
    ]);
  });

  it('fails with one line per problem in the files', () => {
    const routes = file('routes.yaml', 'rules:\n  - match: "(unclosed"\n    template: /x\n  - match: ok\n');
    const queries = file('queries.yaml', 'queries:\n  - name: Open-Orders\n    help: h\n    sql: SELECT 1\n    labels: [value]\n  - name: a\n    help: h\n    sql: SELECT 1\n  - name: a\n    help: h\n    sql: SELECT 2\n');
    const lines = errorsOf({ SIDECAR_ROUTES_FILE: routes, SIDECAR_QUERIES_FILE: queries, DB_HOST: 'db', DB_NAME: 'app', DB_USER: 'app' });
    expect(lines).toEqual([
      expect.stringMatching(/^SIDECAR_ROUTES_FILE=".*routes\.yaml": rules\[0\]\.match: not a valid regular expression/),
      expect.stringMatching(/^SIDECAR_ROUTES_FILE=".*": rules\[1\]\.template: /),
      expect.stringMatching(/^SIDECAR_QUERIES_FILE=".*": queries\[0\]\.name: must match/),
      expect.stringMatching(/^SIDECAR_QUERIES_FILE=".*": queries\[0\]\.labels\[0\]: must not be "value"/),
      expect.stringMatching(/^SIDECAR_QUERIES_FILE=".*": queries\[2\]\.name: duplicate query name "a"/),
    ]);
    expect(errorsOf({ SIDECAR_ROUTES_FILE: '/nonexistent/routes.yaml' })).toEqual(['SIDECAR_ROUTES_FILE="/nonexistent/routes.yaml": cannot read it (ENOENT)']);
  });

  it('fails for business queries without a database', () => {
    const queries = file('q.yaml', 'queries:\n  - name: a\n    help: h\n    sql: SELECT 1\n');
    expect(errorsOf({ SIDECAR_QUERIES_FILE: queries })).toEqual([
      'SIDECAR_QUERIES_FILE: business queries need the database (set DB_HOST, DB_NAME, DB_USER, DB_PASSWORD)',
    ]);
  });
});

describe('README', () => {
  it('documents every variable loadConfig reads', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const name of Object.keys(ENV_VARS)) expect(readme).toContain(`| \`${name}\` |`);
  });
});
