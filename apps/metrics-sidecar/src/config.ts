import { readFileSync } from 'node:fs';
import { BUSINESS_QUERY_NAME_PATTERN, SIDECAR_PORTS } from '@bitpin/metrics-contract';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * The sidecar is configured by environment variables only (plus two optional files they point
 * to). Every variable is validated at start; each problem becomes one line of
 * {@link ConfigError.lines} and `main` exits with code 2.
 *
 * Names match what libs/app puts in the pod spec: `SIDECAR_*` for the sidecar's own settings and
 * the app's `DB_*` / `PGSSLMODE` / `PGSSLROOTCERT` (from the CloudNativePG app secret) for the
 * database probes.
 */

export type SidecarMode = 'proxy' | 'observe';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type PgSslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export interface RouteRule {
  /** Tested against the path (no query string). */
  readonly match: RegExp;
  /** Replaces the matched part of the path (`$1` refers to groups): anchor `match` to replace it all. */
  readonly template: string;
}

export interface BusinessQuery {
  /** Query name: the gauge is `bitpin_business_<name>`. */
  readonly name: string;
  readonly help: string;
  /** One statement; its `value` column (or only column) becomes the gauge value. */
  readonly sql: string;
  /** Columns that become labels, one series per row. @default - none: the first row is the value */
  readonly labels: readonly string[];
}

export interface PgTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string | undefined;
  readonly sslMode: PgSslMode;
  /** PEM of the CA that signed the server certificate (for verify-ca / verify-full). */
  readonly sslRootCert: string | undefined;
}

export interface SidecarConfig {
  readonly mode: SidecarMode;
  readonly listenHost: string;
  readonly proxyPort: number;
  readonly metricsPort: number;
  readonly upstream: {
    /** `http://host:port`, no path. */
    readonly origin: string;
    readonly connections: number;
    readonly connectTimeoutMs: number;
    /** Waiting for response headers, and the longest pause between body chunks. */
    readonly timeoutMs: number;
    readonly keepAliveMs: number;
  };
  /** Idle keep-alive time of client connections on the proxy port. */
  readonly clientKeepAliveMs: number;
  readonly healthPath: string;
  readonly routes: { readonly cap: number; readonly rules: readonly RouteRule[] };
  readonly probes: { readonly intervalMs: number; readonly timeoutMs: number };
  /** Absent when `DB_HOST` is not set: no database probes and no business queries. */
  readonly database: { readonly rw: PgTarget; readonly ro: PgTarget } | undefined;
  readonly queries: { readonly intervalMs: number; readonly timeoutMs: number; readonly items: readonly BusinessQuery[] };
  readonly drainTimeoutMs: number;
  /** After a drain, wait this long at most for one more `/metrics` scrape (0: exit at once). */
  readonly drainLastScrapeMs: number;
  readonly logLevel: LogLevel;
  readonly accessLog: boolean;
}

/** Configuration problems, one line each (`NAME="value": what is wrong`). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly lines: readonly string[]) {
    super(lines.join('\n'));
  }
}

/** Rows kept per labelled business query; more are dropped and logged. */
export const BUSINESS_QUERY_MAX_ROWS = 64;

/** Variables whose values never appear in error messages. */
const SECRET_VARS = new Set(['DB_PASSWORD']);

/** One entry per variable: the default (as the string an operator would write) and the parser. */
interface VarSpec<T> {
  readonly schema: z.ZodType<T, string>;
  readonly default?: string;
  readonly doc: string;
}

const intIn = (min: number, max: number): z.ZodType<number, string> =>
  z.string().transform((s, ctx) => {
    const t = s.trim();
    const n = /^\d+$/.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.issues.push({ code: 'custom', input: s, message: `must be an integer from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

const oneOf = <const T extends string>(values: readonly T[]): z.ZodType<T, string> =>
  z.string().transform((s, ctx) => {
    const t = s.trim().toLowerCase() as T;
    if (!values.includes(t)) {
      ctx.issues.push({ code: 'custom', input: s, message: `must be one of ${values.join(', ')}` });
      return z.NEVER;
    }
    return t;
  });

const bool: z.ZodType<boolean, string> = z.string().transform((s, ctx) => {
  const t = s.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off', ''].includes(t)) return false;
  ctx.issues.push({ code: 'custom', input: s, message: 'must be true or false' });
  return z.NEVER;
});

const nonEmpty: z.ZodType<string, string> = z.string().transform((s, ctx) => {
  if (s.trim() === '') {
    ctx.issues.push({ code: 'custom', input: s, message: 'must not be empty' });
    return z.NEVER;
  }
  return s.trim();
});

const httpOrigin: z.ZodType<string, string> = z.string().transform((s, ctx) => {
  let u: URL | undefined;
  try {
    u = new URL(s.trim());
  } catch {
    u = undefined;
  }
  if (!u || u.protocol !== 'http:' || (u.pathname !== '/' && u.pathname !== '') || u.search || u.username) {
    ctx.issues.push({ code: 'custom', input: s, message: 'must be an http:// URL with host and port only, e.g. http://127.0.0.1:8000' });
    return z.NEVER;
  }
  return u.origin;
});

const absPath: z.ZodType<string, string> = z.string().transform((s, ctx) => {
  if (!/^\/[\x21-\x7e]*$/.test(s)) {
    ctx.issues.push({ code: 'custom', input: s, message: 'must be an absolute URL path such as /healthz/' });
    return z.NEVER;
  }
  return s;
});

const host: z.ZodType<string, string> = z.string().transform((s, ctx) => {
  if (!/^[A-Za-z0-9.:_-]+$/.test(s.trim())) {
    ctx.issues.push({ code: 'custom', input: s, message: 'must be a host name or IP address' });
    return z.NEVER;
  }
  return s.trim();
});

const anyString: z.ZodType<string, string> = z.string();

/** The variables, their defaults and meanings. The README table is generated from the same words. */
export const ENV_VARS = {
  SIDECAR_MODE: {
    schema: oneOf(['proxy', 'observe'] as const),
    default: 'proxy',
    doc: '`proxy`: serve the data plane on SIDECAR_LISTEN_PORT and record RED metrics; `observe`: only probe.',
  },
  SIDECAR_LISTEN_HOST: { schema: host, default: '0.0.0.0', doc: 'Address both servers bind to.' },
  SIDECAR_LISTEN_PORT: { schema: intIn(1, 65535), default: String(SIDECAR_PORTS.proxy), doc: 'Proxy (data plane) port.' },
  SIDECAR_METRICS_PORT: {
    schema: intIn(1, 65535),
    default: String(SIDECAR_PORTS.metrics),
    doc: '`/metrics`, `/healthz`, `/readyz`.',
  },
  SIDECAR_UPSTREAM_URL: { schema: httpOrigin, default: 'http://127.0.0.1:8000', doc: 'The app (Django) origin.' },
  SIDECAR_UPSTREAM_CONNECTIONS: { schema: intIn(1, 1024), default: '64', doc: 'Keep-alive connections to the app, at most.' },
  SIDECAR_UPSTREAM_CONNECT_TIMEOUT_MS: { schema: intIn(1, 600_000), default: '5000', doc: 'Connect timeout (→ 504).' },
  SIDECAR_UPSTREAM_TIMEOUT_MS: {
    schema: intIn(1, 3_600_000),
    default: '60000',
    doc: 'Wait for response headers, and the longest pause inside a body (→ 504, or a cut body).',
  },
  SIDECAR_UPSTREAM_KEEPALIVE_MS: { schema: intIn(1, 600_000), default: '4000', doc: 'Idle upstream connections are closed after this.' },
  SIDECAR_CLIENT_KEEPALIVE_SECONDS: {
    schema: intIn(1, 3600),
    default: '65',
    doc: 'Idle client connections on the proxy port are closed after this; keep it above any load balancer idle timeout (60 s is common).',
  },
  SIDECAR_HEALTH_PATH: { schema: absPath, default: '/healthz/', doc: "The app's health path, probed every interval." },
  SIDECAR_ROUTE_CARDINALITY_CAP: {
    schema: intIn(1, 10_000),
    default: '200',
    doc: 'Distinct route templates; later ones are counted as `route="__overflow__"`.',
  },
  SIDECAR_ROUTES_FILE: { schema: nonEmpty, doc: 'YAML file of route rules (`rules: [{match, template}]`).' },
  SIDECAR_PROBE_INTERVAL_SECONDS: { schema: intIn(1, 3600), default: '10', doc: 'App and database probe interval.' },
  SIDECAR_PROBE_TIMEOUT_MS: { schema: intIn(1, 60_000), default: '2000', doc: 'Per probe.' },
  DB_HOST: { schema: host, doc: 'PostgreSQL rw service (the app secret\'s `host`). Unset: no database probes or queries.' },
  DB_PORT: { schema: intIn(1, 65535), default: '5432', doc: 'PostgreSQL port.' },
  DB_NAME: { schema: nonEmpty, doc: 'Database (required with DB_HOST).' },
  DB_USER: { schema: nonEmpty, doc: 'User (required with DB_HOST).' },
  DB_PASSWORD: { schema: anyString, doc: 'Password (never logged).' },
  SIDECAR_DB_RO_HOST: {
    schema: host,
    doc: 'PostgreSQL ro service. Default: DB_HOST with a trailing `-rw` replaced by `-ro`, else DB_HOST.',
  },
  SIDECAR_DB_RO_PORT: { schema: intIn(1, 65535), doc: 'PostgreSQL ro port. Default: DB_PORT.' },
  PGSSLMODE: {
    schema: oneOf(['disable', 'require', 'verify-ca', 'verify-full'] as const),
    doc: 'TLS to PostgreSQL. Default: `verify-full` when PGSSLROOTCERT is set, else `require`.',
  },
  PGSSLROOTCERT: { schema: nonEmpty, doc: 'CA certificate file (PEM) for verify-ca / verify-full.' },
  SIDECAR_QUERIES_FILE: { schema: nonEmpty, doc: 'YAML file of business queries (`queries: [{name, help, sql, labels?}]`).' },
  SIDECAR_QUERY_INTERVAL_SECONDS: { schema: intIn(1, 86_400), default: '60', doc: 'Business query interval.' },
  SIDECAR_QUERY_TIMEOUT_MS: { schema: intIn(1, 600_000), default: '5000', doc: '`statement_timeout` of each business query.' },
  SIDECAR_DRAIN_TIMEOUT_SECONDS: {
    schema: intIn(0, 3600),
    default: '20',
    doc: 'On SIGTERM: stop accepting, wait this long for in-flight requests, then close the rest.',
  },
  SIDECAR_DRAIN_LAST_SCRAPE_SECONDS: {
    schema: intIn(0, 600),
    default: '0',
    doc: 'After the drain, keep serving `/metrics` until one scrape has seen the drained requests, at most this long (0: exit at once).',
  },
  SIDECAR_LOG_LEVEL: {
    schema: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    default: 'info',
    doc: 'pino level (JSON logs on stdout).',
  },
  SIDECAR_ACCESS_LOG: { schema: bool, default: 'false', doc: 'Log every proxied request (with its request id).' },
} as const satisfies Record<string, VarSpec<unknown>>;

type Vars = typeof ENV_VARS;
type Parsed = { [K in keyof Vars]: Vars[K] extends { default: string } ? z.output<Vars[K]['schema']> : z.output<Vars[K]['schema']> | undefined };

/** Reads the environment (and the files it names). Throws {@link ConfigError} listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SidecarConfig {
  const lines: string[] = [];
  const v = {} as Record<string, unknown>;

  for (const name of Object.keys(env)) {
    if (name.startsWith('SIDECAR_') && !(name in ENV_VARS)) {
      lines.push(`${name}: not a known variable (known: ${Object.keys(ENV_VARS).filter((k) => k.startsWith('SIDECAR_')).join(', ')})`);
    }
  }
  for (const [name, spec] of Object.entries(ENV_VARS) as [keyof Vars, VarSpec<unknown>][]) {
    const raw = env[name] ?? spec.default;
    if (raw === undefined) continue;
    const r = spec.schema.safeParse(raw);
    if (r.success) v[name] = r.data;
    else lines.push(`${name}=${SECRET_VARS.has(name) ? '(hidden)' : JSON.stringify(raw)}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  }
  const p = v as Parsed;

  if (p.SIDECAR_LISTEN_PORT !== undefined && p.SIDECAR_LISTEN_PORT === p.SIDECAR_METRICS_PORT) {
    lines.push(`SIDECAR_METRICS_PORT=${JSON.stringify(String(p.SIDECAR_METRICS_PORT))}: must differ from SIDECAR_LISTEN_PORT`);
  }

  let database: SidecarConfig['database'];
  if (p.DB_HOST !== undefined) {
    for (const req of ['DB_NAME', 'DB_USER'] as const) {
      if (env[req] === undefined) lines.push(`${req}: required when DB_HOST is set`);
    }
    const sslMode: PgSslMode = p.PGSSLMODE ?? (p.PGSSLROOTCERT ? 'verify-full' : 'require');
    let sslRootCert: string | undefined;
    if (sslMode === 'verify-ca' || sslMode === 'verify-full') {
      if (!p.PGSSLROOTCERT) lines.push(`PGSSLROOTCERT: required when PGSSLMODE is ${sslMode}`);
      else {
        try {
          sslRootCert = readFileSync(p.PGSSLROOTCERT, 'utf8');
        } catch (e) {
          lines.push(`PGSSLROOTCERT=${JSON.stringify(p.PGSSLROOTCERT)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
        }
      }
    }
    if (p.DB_NAME && p.DB_USER) {
      const rw: PgTarget = {
        host: p.DB_HOST,
        port: p.DB_PORT,
        database: p.DB_NAME,
        user: p.DB_USER,
        password: p.DB_PASSWORD,
        sslMode,
        sslRootCert,
      };
      const roHost = p.SIDECAR_DB_RO_HOST ?? (p.DB_HOST.endsWith('-rw') ? `${p.DB_HOST.slice(0, -3)}-ro` : p.DB_HOST);
      database = { rw, ro: { ...rw, host: roHost, port: p.SIDECAR_DB_RO_PORT ?? rw.port } };
    }
  }

  const rules = p.SIDECAR_ROUTES_FILE ? readRoutesFile(p.SIDECAR_ROUTES_FILE, lines) : [];
  const queries = p.SIDECAR_QUERIES_FILE ? readQueriesFile(p.SIDECAR_QUERIES_FILE, lines) : [];
  if (queries.length > 0 && p.DB_HOST === undefined) {
    lines.push('SIDECAR_QUERIES_FILE: business queries need the database (set DB_HOST, DB_NAME, DB_USER, DB_PASSWORD)');
  }

  if (lines.length > 0) throw new ConfigError(lines);

  return {
    mode: p.SIDECAR_MODE,
    listenHost: p.SIDECAR_LISTEN_HOST,
    proxyPort: p.SIDECAR_LISTEN_PORT,
    metricsPort: p.SIDECAR_METRICS_PORT,
    upstream: {
      origin: p.SIDECAR_UPSTREAM_URL,
      connections: p.SIDECAR_UPSTREAM_CONNECTIONS,
      connectTimeoutMs: p.SIDECAR_UPSTREAM_CONNECT_TIMEOUT_MS,
      timeoutMs: p.SIDECAR_UPSTREAM_TIMEOUT_MS,
      keepAliveMs: p.SIDECAR_UPSTREAM_KEEPALIVE_MS,
    },
    clientKeepAliveMs: p.SIDECAR_CLIENT_KEEPALIVE_SECONDS * 1000,
    healthPath: p.SIDECAR_HEALTH_PATH,
    routes: { cap: p.SIDECAR_ROUTE_CARDINALITY_CAP, rules },
    probes: { intervalMs: p.SIDECAR_PROBE_INTERVAL_SECONDS * 1000, timeoutMs: p.SIDECAR_PROBE_TIMEOUT_MS },
    database,
    queries: { intervalMs: p.SIDECAR_QUERY_INTERVAL_SECONDS * 1000, timeoutMs: p.SIDECAR_QUERY_TIMEOUT_MS, items: queries },
    drainTimeoutMs: p.SIDECAR_DRAIN_TIMEOUT_SECONDS * 1000,
    drainLastScrapeMs: p.SIDECAR_DRAIN_LAST_SCRAPE_SECONDS * 1000,
    logLevel: p.SIDECAR_LOG_LEVEL,
    accessLog: p.SIDECAR_ACCESS_LOG,
  };
}

function readYaml(varName: string, file: string, lines: string[]): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    lines.push(`${varName}=${JSON.stringify(file)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    return undefined;
  }
  try {
    return parseYaml(text) as unknown;
  } catch (e) {
    lines.push(`${varName}=${JSON.stringify(file)}: not valid YAML (${String((e as Error).message).split('\n')[0]})`);
    return undefined;
  }
}

function pushIssues(varName: string, file: string, error: z.ZodError, lines: string[]): void {
  for (const i of error.issues) {
    const at = i.path.map((s) => (typeof s === 'number' ? `[${s}]` : `.${String(s)}`)).join('').replace(/^\./, '');
    lines.push(`${varName}=${JSON.stringify(file)}: ${at || '(root)'}: ${i.message}`);
  }
}

const regexString = z.string().min(1).superRefine((s, ctx) => {
  try {
    new RegExp(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression (${(e as Error).message})` });
  }
});

const routesFileSchema = z.strictObject({
  rules: z.array(z.strictObject({ match: regexString, template: z.string().min(1).max(256) })).max(1000),
});

function readRoutesFile(file: string, lines: string[]): RouteRule[] {
  const doc = readYaml('SIDECAR_ROUTES_FILE', file, lines);
  if (doc === undefined) return [];
  const r = routesFileSchema.safeParse(doc);
  if (!r.success) {
    pushIssues('SIDECAR_ROUTES_FILE', file, r.error, lines);
    return [];
  }
  return r.data.rules.map((x) => ({ match: new RegExp(x.match), template: x.template }));
}

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'must be a Prometheus label name' }).refine((s) => s !== 'value' && !s.startsWith('__'), {
  error: 'must not be "value" or start with "__"',
});

const queriesFileSchema = z.strictObject({
  queries: z
    .array(
      z.strictObject({
        name: z.string().regex(BUSINESS_QUERY_NAME_PATTERN, { error: `must match ${String(BUSINESS_QUERY_NAME_PATTERN)}` }),
        help: z.string().min(1).max(500),
        sql: z.string().min(1),
        labels: z.array(labelName).max(8).default([]),
      }),
    )
    .max(100)
    .superRefine((qs, ctx) => {
      const seen = new Set<string>();
      qs.forEach((q, i) => {
        if (seen.has(q.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate query name "${q.name}"` });
        seen.add(q.name);
      });
    }),
});

function readQueriesFile(file: string, lines: string[]): BusinessQuery[] {
  const doc = readYaml('SIDECAR_QUERIES_FILE', file, lines);
  if (doc === undefined) return [];
  const r = queriesFileSchema.safeParse(doc);
  if (!r.success) {
    pushIssues('SIDECAR_QUERIES_FILE', file, r.error, lines);
    return [];
  }
  return r.data.queries;
}
