/**
 * A real PostgreSQL 15 pair for the probe tests (@bitpin/test-support's PgServer): a primary and a
 * streaming-replication hot standby (the `-rw` and `-ro` services of CloudNativePG), on free
 * 127.0.0.1 ports, with TLS from a CA made here so clients can verify-full against 127.0.0.1 (the
 * certificate names only that IP). The app role logs in with a password over TLS only
 * (`hostssl … scram-sha-256`).
 */
import { PgServer } from '@bitpin/test-support';

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
  const appUser = 'app';
  const appPassword = 'app-Secret-1';
  const database = 'app';
  const primary = await PgServer.start({
    prefix: 'sidecar-pg-',
    // Only the IP: connecting as "localhost" is a name mismatch (verify-full fails, verify-ca passes).
    tls: { names: ['127.0.0.1'], caName: 'sidecar-test-ca' },
    conf: [
      `wal_level = replica`,
      `max_wal_senders = 4`,
      `hot_standby = on`,
      `max_connections = 40`,
      `shared_buffers = 16MB`,
      `synchronous_commit = off`,
      `full_page_writes = off`,
    ],
    hba: [`hostssl all ${appUser} 127.0.0.1/32 scram-sha-256`],
  });
  let standby: PgServer;
  try {
    primary.sql(`CREATE ROLE ${appUser} LOGIN PASSWORD '${appPassword}'`);
    primary.sql(`CREATE DATABASE ${database} OWNER ${appUser}`);
    primary.sql(
      `CREATE TABLE orders (id serial PRIMARY KEY, market text NOT NULL, status text NOT NULL);
       INSERT INTO orders (market, status) VALUES
         ('BTC-USDT','open'), ('BTC-USDT','open'), ('ETH-USDT','open'), ('ETH-USDT','filled'), ('USDT-IRT','filled');`,
      database,
      appUser,
    );
    standby = await primary.startStandby('sidecar-pg-standby-');
  } catch (err) {
    primary.destroy('immediate');
    throw err;
  }

  return {
    root: primary.root,
    primaryPort: primary.port,
    standbyPort: standby.port,
    caFile: primary.tls!.caCert,
    otherCaFile: primary.tls!.otherCaCert,
    appUser,
    appPassword,
    database,
    sql: (query, on = 'primary') => (on === 'primary' ? primary : standby).sql(query, database),
    stop: () => {
      standby.destroy('immediate');
      primary.destroy('immediate');
    },
  };
}
