/**
 * A real PostgreSQL 15 pair for the probe tests: a primary and a streaming-replication hot
 * standby (the `-rw` and `-ro` services of CloudNativePG), each in its own directory under one
 * temp dir, on free 127.0.0.1 ports, with TLS from a CA made here so clients can verify-full
 * against 127.0.0.1 (the certificate names only that IP). The app role logs in with a password over TLS only (`hostssl … scram-sha-256`).
 *
 * PostgreSQL refuses to run as root: under root the server tools run as `postgres` via runuser.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';

const BINDIR = process.env['PG_BINDIR'] ?? '/usr/lib/postgresql/15/bin';
const isRoot = process.getuid?.() === 0;
const owner = isRoot
  ? {
      uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
    }
  : undefined;

export function postgresAvailable(): boolean {
  return existsSync(join(BINDIR, 'postgres')) && existsSync(join(BINDIR, 'pg_basebackup'));
}

function own(path: string, mode: number): void {
  chmodSync(path, mode);
  if (owner) chownSync(path, owner.uid, owner.gid);
}

/** Runs a PostgreSQL tool as the server's user, bounded in time; throws with its output on failure. */
function pg(tool: string, args: string[], timeoutMs = 60_000): string {
  const cmd = join(BINDIR, tool);
  const env = { PATH: `${BINDIR}:/usr/bin:/bin`, LANG: 'C.UTF-8', TZ: 'UTC' };
  const kv = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = isRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', 'env', '-i', ...kv, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, cwd: '/' })
    : spawnSync('env', ['-i', ...kv, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, cwd: '/' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

export interface PgPair {
  readonly root: string;
  readonly primaryPort: number;
  readonly standbyPort: number;
  /** CA that signed the servers' certificate (PEM file). */
  readonly caFile: string;
  /** A CA that did not (for the verify-full failure case). */
  readonly otherCaFile: string;
  readonly appUser: string;
  readonly appPassword: string;
  readonly database: string;
  /** Runs SQL as the superuser on the primary (or the standby); returns unaligned output. */
  sql(query: string, on?: 'primary' | 'standby'): string;
  stop(): void;
}

export async function startPgPair(): Promise<PgPair> {
  const root = mkdtempSync(join(tmpdir(), 'sidecar-pg-'));
  own(root, 0o755);
  const primary = join(root, 'primary');
  const standby = join(root, 'standby');
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  const appUser = 'app';
  const appPassword = 'app-Secret-1';
  const database = 'app';

  // TLS: a CA, an unrelated CA, and a server certificate for 127.0.0.1 / localhost.
  const o = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  o(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=sidecar-test-ca']);
  o(['req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=unrelated-ca']);
  o(['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  // Only the IP: connecting as "localhost" is a name mismatch (verify-full fails, verify-ca passes).
  writeFileSync(join(root, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  o(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext']);
  own(join(root, 'server.key'), 0o600);
  for (const f of ['ca.crt', 'other.crt', 'server.crt']) own(join(root, f), 0o644);

  pg('initdb', ['-D', primary, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync']);
  writeFileSync(
    join(primary, 'postgresql.conf'),
    [
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${root}'`,
      `ssl = on`,
      `ssl_cert_file = '${join(root, 'server.crt')}'`,
      `ssl_key_file = '${join(root, 'server.key')}'`,
      `wal_level = replica`,
      `max_wal_senders = 4`,
      `hot_standby = on`,
      `max_connections = 40`,
      `shared_buffers = 16MB`,
      `fsync = off`,
      `synchronous_commit = off`,
      `full_page_writes = off`,
      `log_min_messages = warning`,
      '',
    ].join('\n'),
    { flag: 'a' },
  );
  writeFileSync(
    join(primary, 'pg_hba.conf'),
    [
      'local all all trust',
      'host replication postgres 127.0.0.1/32 trust',
      `hostssl all ${appUser} 127.0.0.1/32 scram-sha-256`,
      '',
    ].join('\n'),
  );
  const start = (dir: string, port: number): void => {
    pg('pg_ctl', ['-D', dir, '-l', join(root, `${port}.log`), '-w', '-t', '60', '-o', `-p ${port}`, 'start']);
  };
  const psql = (port: number, query: string): string =>
    pg('psql', ['-h', root, '-p', String(port), '-U', 'postgres', '-d', port === primaryPort ? 'postgres' : database, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', query]);

  start(primary, primaryPort);
  try {
    psql(primaryPort, `CREATE ROLE ${appUser} LOGIN PASSWORD '${appPassword}'`);
    psql(primaryPort, `CREATE DATABASE ${database} OWNER ${appUser}`);
    pg('psql', [
      '-h', root, '-p', String(primaryPort), '-U', appUser, '-d', database, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c',
      `CREATE TABLE orders (id serial PRIMARY KEY, market text NOT NULL, status text NOT NULL);
       INSERT INTO orders (market, status) VALUES
         ('BTC-USDT','open'), ('BTC-USDT','open'), ('ETH-USDT','open'), ('ETH-USDT','filled'), ('USDT-IRT','filled');`,
    ]);
    pg('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', standby, '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
    start(standby, standbyPort);
  } catch (err) {
    spawnSync('runuser', ['-u', 'postgres', '--', join(BINDIR, 'pg_ctl'), '-D', primary, '-m', 'immediate', 'stop']);
    throw err;
  }

  return {
    root,
    primaryPort,
    standbyPort,
    caFile: join(root, 'ca.crt'),
    otherCaFile: join(root, 'other.crt'),
    appUser,
    appPassword,
    database,
    sql: (query, on = 'primary') =>
      pg('psql', ['-h', root, '-p', String(on === 'primary' ? primaryPort : standbyPort), '-U', 'postgres', '-d', database, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', query]).trim(),
    stop: () => {
      for (const dir of [standby, primary]) {
        try {
          pg('pg_ctl', ['-D', dir, '-m', 'immediate', '-w', 'stop'], 30_000);
        } catch {
          // already stopped
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
