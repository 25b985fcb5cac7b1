/**
 * A real PgBouncer (Debian's `pgbouncer`) in front of a real PostgreSQL 15 (the @bitpin/test-support
 * harness), configured as a CloudNativePG Pooler of the env would configure it: the Pooler's pool
 * mode and `spec.pgbouncer.parameters` as synthesized by libs/database, plus what the operator
 * forces (pkg/management/pgbouncer/config/config.go): PgBouncer presents the cluster's server
 * certificate to its clients, checks the server's with the cluster CA, and listens on 5432-like
 * a port of its own. Differences (said where they matter): the operator authenticates clients with
 * `auth_query` through its own user; here the `auth_file` holds the SCRAM secret that query would
 * return (`pg_authid.rolpassword`), so PgBouncer verifies the same secret the same way.
 */
import { loadEnvConfig } from '@bitpin/config';
import {
  PG_BINDIR,
  PG_INSTALL_HINT,
  PgServer,
  freePort,
  isRoot,
  missingPostgresTool,
  own,
  ownedDir,
  requireServers,
  startProcess,
  waitFor,
  type Proc,
  type ServerSuite,
} from '@bitpin/test-support';
import { Testing } from 'cdk8s';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { DatabaseChart } from '../../src/index.js';

/** Debian's pgbouncer binary. */
export const PGBOUNCER = process.env['PGBOUNCER'] ?? '/usr/sbin/pgbouncer';
export const PGBOUNCER_INSTALL_HINT = 'run tools/scripts/install-system.sh (Debian pgbouncer) or set PGBOUNCER';
export const pgbouncerAvailable = (): boolean => existsSync(PGBOUNCER);

/** A `describe` for suites needing PostgreSQL 15 (with pgbench) and PgBouncer: fails under CI when one is missing. */
export function describeWithPgBouncer(extraPgTools: readonly string[] = []): ServerSuite {
  const missing = missingPostgresTool(extraPgTools);
  return requireServers([
    { name: `PostgreSQL 15 (${missing ?? PG_BINDIR})`, available: missing === undefined, installHint: PG_INSTALL_HINT },
    { name: `PgBouncer (${PGBOUNCER})`, available: pgbouncerAvailable(), installHint: PGBOUNCER_INSTALL_HINT },
  ]);
}

/** The application role and database, as CloudNativePG bootstraps them (`bootstrap.initdb`). */
export const APP = { user: 'app', password: 'app-password-for-tests-only', database: 'app' } as const;

type Overrides = NonNullable<Parameters<typeof loadEnvConfig>[1]>['overrides'];

/** The `-rw` Pooler of `env` (with `overrides`) as libs/database synthesizes it. */
export function synthesizedPooler(env = 'prod', overrides: Overrides = {}): { poolMode: string; parameters: Record<string, string> } {
  const cfg = loadEnvConfig(env, { overrides: overrides as never });
  const objs = Testing.synth(new DatabaseChart(Testing.app(), 'db', { env: cfg })) as { kind: string; spec: { type?: string; pgbouncer: { poolMode: string; parameters: Record<string, string> } } }[];
  const pooler = objs.find((o) => o.kind === 'Pooler' && o.spec.type === 'rw');
  if (!pooler) throw new Error(`env ${env} renders no -rw Pooler (database.pooler.enabled is off)`);
  return pooler.spec.pgbouncer;
}

/** A PostgreSQL 15 with TLS, the app role (SCRAM) and database, as the Cluster has them. */
export async function startDatabase(conf: readonly string[] = []): Promise<PgServer> {
  const pgs = await PgServer.start({
    prefix: 'bitpin-pooler-pg-',
    tls: { names: ['localhost', '127.0.0.1'] },
    conf: ["password_encryption = 'scram-sha-256'", ...conf],
    hba: ['hostssl all all 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 reject'],
  });
  pgs.sql(`CREATE ROLE ${APP.user} LOGIN PASSWORD '${APP.password}'`);
  pgs.sql(`CREATE DATABASE ${APP.database} OWNER ${APP.user}`);
  return pgs;
}

export interface PgBouncer {
  readonly port: number;
  readonly proc: Proc;
  readonly ini: string;
  /** The tail of PgBouncer's log file (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer in front of `server` with the Pooler's pool mode and parameters. The server is
 * reached as `localhost` (the name in its certificate: `server_tls_sslmode=verify-full` checks it).
 */
export async function startPgBouncer(server: PgServer, pooler: { poolMode: string; parameters: Record<string, string> }): Promise<PgBouncer> {
  const tls = server.tls;
  if (!tls) throw new Error('startPgBouncer: the server needs TLS (the Pooler verifies it)');
  const dir = ownedDir(join(server.root, `pgbouncer-${Date.now()}`), 0o700);
  const port = await freePort();
  const secret = server.sql(`SELECT rolpassword FROM pg_authid WHERE rolname = '${APP.user}'`);
  const userlist = join(dir, 'userlist.txt');
  writeFileSync(userlist, `"${APP.user}" "${secret}"\n`);
  own(userlist, 0o600);
  const ini = join(dir, 'pgbouncer.ini');
  const lines = [
    '[databases]',
    // CloudNativePG: `* = host=<cluster>-<type>`; here the one database on the test server.
    `${APP.database} = host=localhost port=${server.port} dbname=${APP.database}`,
    '',
    '[pgbouncer]',
    `pool_mode = ${pooler.poolMode}`,
    `listen_addr = 127.0.0.1`,
    `listen_port = ${port}`,
    `unix_socket_dir =`,
    `auth_type = scram-sha-256`,
    `auth_file = ${userlist}`,
    // Forced by the operator: the cluster CA for the server, the server's own certificate for clients.
    `server_tls_ca_file = ${tls.caCert}`,
    `client_tls_cert_file = ${tls.serverCert}`,
    `client_tls_key_file = ${tls.serverKey}`,
    `client_tls_ca_file = ${tls.caCert}`,
    // The operator's defaults (log_stats 0; ignore_startup_parameters for libpq/JDBC clients).
    'log_stats = 0',
    'ignore_startup_parameters = extra_float_digits,options',
    `logfile = ${join(dir, 'pgbouncer.log')}`,
    'log_connections = 0',
    'log_disconnections = 0',
    // The Pooler's parameters as synthesized (sizes, timeouts, TLS modes).
    ...Object.entries(pooler.parameters).map(([k, v]) => `${k} = ${v}`),
    '',
  ];
  writeFileSync(ini, lines.join('\n'));
  own(ini, 0o600);
  // PgBouncer refuses to run as root: -u switches to the server's user, who owns the files.
  const proc = startProcess(PGBOUNCER, [...(isRoot ? ['-u', 'postgres'] : []), ini], { name: 'pgbouncer' });
  await waitFor(
    `pgbouncer on :${port}`,
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`pgbouncer exited ${proc.child.exitCode}: ${proc.output()}`);
      const c = client(port);
      try {
        await c.connect();
        return true;
      } catch {
        return false;
      } finally {
        await c.end().catch(() => undefined);
      }
    },
    15_000,
  );
  const logfile = join(dir, 'pgbouncer.log');
  const log = () => (existsSync(logfile) ? readFileSync(logfile, 'utf8').slice(-4000) : proc.output());
  return { port, proc, ini, log, stop: () => proc.stop() };
}

/** A `pg` client as the app connects: TLS with the server's identity checked (verify-full). */
export function client(port: number, caCert?: string): pg.Client {
  return new pg.Client({
    host: '127.0.0.1',
    port,
    user: APP.user,
    password: APP.password,
    database: APP.database,
    // verify-full: the CA and the name (the certificate names localhost and 127.0.0.1).
    ssl: caCert ? { ca: caCert, servername: 'localhost', rejectUnauthorized: true } : { rejectUnauthorized: false },
  });
}
