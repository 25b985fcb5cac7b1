import { PgServer } from '@bitpin/test-support';

export interface Postgres {
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  stop(): void;
}

/**
 * A throwaway PostgreSQL 15 on 127.0.0.1 (no TLS; @bitpin/test-support's PgServer): the database
 * the sidecar probes and runs its business queries against.
 */
export async function startPostgres(): Promise<Postgres> {
  const user = 'app';
  const password = 'dashboards-e2e-1';
  const database = 'app';
  const server = await PgServer.start({ prefix: 'dashboards-pg-', conf: ['max_connections = 20', 'shared_buffers = 16MB'] });
  try {
    server.sql(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
    server.sql(`CREATE DATABASE ${database} OWNER ${user}`);
    server.sql(
      `CREATE TABLE orders (id serial PRIMARY KEY, market text NOT NULL, status text NOT NULL);
       INSERT INTO orders (market, status) VALUES ('BTC-USDT','open'), ('ETH-USDT','open'), ('USDT-IRT','filled');
       ALTER TABLE orders OWNER TO ${user};`,
      database,
    );
  } catch (err) {
    server.destroy('immediate');
    throw err;
  }
  return { port: server.port, database, user, password, stop: () => server.destroy('immediate') };
}
