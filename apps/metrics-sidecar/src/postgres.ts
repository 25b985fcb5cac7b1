import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import type { PgTarget } from './config.js';

/** node-postgres is loaded on first use: without a database the sidecar never pays its memory. */
let pgModule: Promise<typeof pg> | undefined;
const loadPg = (): Promise<typeof pg> => (pgModule ??= import('pg').then((m) => m.default));

/** node-postgres TLS options for a libpq-style sslmode. */
export function sslOptions(t: PgTarget): false | ConnectionOptions {
  switch (t.sslMode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { ca: t.sslRootCert, checkServerIdentity: () => undefined };
    case 'verify-full':
      // node-postgres checks the certificate against the host (SNI only for names, not IPs).
      return { ca: t.sslRootCert };
  }
}

/** A connected client; the caller ends it. Errors after connect are swallowed (the caller sees them on its queries). */
export async function connect(t: PgTarget, timeoutMs: number): Promise<pg.Client> {
  const { Client } = await loadPg();
  const client = new Client({
    host: t.host,
    port: t.port,
    database: t.database,
    user: t.user,
    password: t.password,
    ssl: sslOptions(t),
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'metrics-sidecar',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}
