import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes.js';

/** PostgreSQL 15 server binaries (Debian's postgresql-15; the project's setup installs them). */
export const PG_BINDIR = process.env['PG_BINDIR'] ?? '/usr/lib/postgresql/15/bin';

export function postgresAvailable(): boolean {
  return existsSync(join(PG_BINDIR, 'postgres')) && existsSync(join(PG_BINDIR, 'initdb'));
}

export interface Postgres {
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  stop(): void;
}

/**
 * A throwaway PostgreSQL 15 on 127.0.0.1 (no TLS): the database the sidecar probes and runs its
 * business queries against. PostgreSQL refuses to run as root, so under root the tools run as the
 * `postgres` user.
 */
export async function startPostgres(): Promise<Postgres> {
  const isRoot = process.getuid?.() === 0;
  const root = mkdtempSync(join(tmpdir(), 'dashboards-pg-'));
  if (isRoot) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(root, id('-u'), id('-g'));
  }
  const data = join(root, 'data');
  const port = await freePort();
  const pg = (tool: string, args: string[]): string => {
    const env = ['PATH=/usr/bin:/bin', 'LANG=C.UTF-8', 'TZ=UTC'];
    const cmd = join(PG_BINDIR, tool);
    const r = isRoot
      ? spawnSync('runuser', ['-u', 'postgres', '--', 'env', '-i', ...env, cmd, ...args], { encoding: 'utf8', timeout: 60_000, cwd: '/' })
      : spawnSync('env', ['-i', ...env, cmd, ...args], { encoding: 'utf8', timeout: 60_000, cwd: '/' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const user = 'app';
  const password = 'dashboards-e2e-1';
  const database = 'app';
  pg('initdb', ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync']);
  writeFileSync(
    join(data, 'postgresql.conf'),
    [`listen_addresses = '127.0.0.1'`, `unix_socket_directories = '${root}'`, 'max_connections = 20', 'shared_buffers = 16MB', 'fsync = off', ''].join('\n'),
    { flag: 'a' },
  );
  pg('pg_ctl', ['-D', data, '-l', join(root, 'server.log'), '-w', '-t', '60', '-o', `-p ${port}`, 'start']);
  const psql = (sql: string, db = 'postgres') => pg('psql', ['-h', root, '-p', String(port), '-U', 'postgres', '-d', db, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
  psql(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
  psql(`CREATE DATABASE ${database} OWNER ${user}`);
  psql(
    `CREATE TABLE orders (id serial PRIMARY KEY, market text NOT NULL, status text NOT NULL);
     INSERT INTO orders (market, status) VALUES ('BTC-USDT','open'), ('ETH-USDT','open'), ('USDT-IRT','filled');
     ALTER TABLE orders OWNER TO ${user};`,
    database,
  );
  return {
    port,
    database,
    user,
    password,
    stop: () => {
      try {
        pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
