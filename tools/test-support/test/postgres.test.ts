import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, PgServer, runAsPostgres } from '../src/index.js';

describeWithPostgres(['pg_basebackup'])('PgServer on a real PostgreSQL 15', { timeout: 120_000 }, () => {
  let primary: PgServer;
  let standby: PgServer | undefined;

  beforeAll(async () => {
    primary = await PgServer.start({
      prefix: 'test-support-pg-',
      tls: { names: ['127.0.0.1'] },
      hba: ['hostssl all app 127.0.0.1/32 scram-sha-256', 'host all all all reject'],
    });
  }, 120_000);

  afterAll(() => {
    standby?.destroy('immediate');
    primary?.destroy('immediate');
  });

  it('runs SQL over its socket, and admits a password role only over TLS verified against its CA', () => {
    expect(primary.sql('SHOW server_version_num').slice(0, 2)).toBe('15');
    primary.sql(`CREATE ROLE app LOGIN PASSWORD 'app-pw'`);
    primary.sql('CREATE DATABASE app OWNER app');
    const env = { PGHOST: '127.0.0.1', PGPORT: String(primary.port), PGUSER: 'app', PGPASSWORD: 'app-pw', PGDATABASE: 'app', PGSSLROOTCERT: primary.tls!.caCert };
    expect(runAsPostgres('psql', ['-XAtc', 'SELECT 1'], { ...env, PGSSLMODE: 'verify-full' }).stdout.trim()).toBe('1');
    expect(runAsPostgres('psql', ['-XAtc', 'SELECT 1'], { ...env, PGSSLMODE: 'disable' }).status).not.toBe(0);
    expect(runAsPostgres('psql', ['-XAtc', 'SELECT 1'], { ...env, PGSSLMODE: 'verify-full', PGSSLROOTCERT: primary.tls!.otherCaCert }).status).not.toBe(0);
  });

  it('a standby streams from it, and is writable once promoted', async () => {
    primary.sql('CREATE TABLE t (n int); INSERT INTO t VALUES (1)', 'app');
    standby = await primary.startStandby('test-support-standby-');
    expect(standby.sql('SELECT pg_is_in_recovery()')).toBe('t');
    standby.promote();
    standby.sql('INSERT INTO t VALUES (2)', 'app');
    expect(standby.sql('SELECT sum(n) FROM t', 'app')).toBe('3');
  });

  it('destroy() stops the server and removes its directory', () => {
    const s = standby!;
    s.destroy();
    standby = undefined;
    expect(existsSync(s.root)).toBe(false);
  });
});
