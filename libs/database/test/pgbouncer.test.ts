/**
 * The pool mode on real servers: Debian's PgBouncer in front of a real PostgreSQL 15 with TLS,
 * configured from the Pooler libs/database synthesizes for prod (support/pgbouncer.ts). The app is
 * Django with `CONN_MAX_AGE=0`: a connection per request, closed at its end. What Django does on
 * such a connection is done here with the `pg` client, statement by statement:
 * - `QuerySet.iterator()` opens a server-side cursor (`DECLARE … CURSOR WITH HOLD` outside a
 *   transaction, then `FETCH` per chunk, each in its own autocommit transaction) unless the settings
 *   say `DISABLE_SERVER_SIDE_CURSORS: True`;
 * - prepared statements (protocol-level, named) as psycopg 3 uses with server-side binding;
 * - session settings (`SET`), which Django's `init_connection_state` / `OPTIONS` may issue.
 */
import type { PgServer } from '@bitpin/test-support';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APP, client, describeWithPgBouncer, startDatabase, startPgBouncer, synthesizedPooler, type PgBouncer } from './support/pgbouncer.js';

describeWithPgBouncer()('PgBouncer as the Pooler runs it, in front of PostgreSQL 15', { timeout: 120_000 }, () => {
  let db: PgServer;
  let session: PgBouncer;
  let transaction: PgBouncer;
  let ca: string;

  beforeAll(async () => {
    db = await startDatabase();
    ca = readFileSync(db.tls!.caCert, 'utf8');
    db.sql(`CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100) g`, APP.database);
    db.sql(`GRANT SELECT ON t TO ${APP.user}`, APP.database);
    // The default (prod's Pooler: session mode) and the option (transaction mode), same sizes.
    const prod = synthesizedPooler('prod');
    expect(prod.poolMode).toBe('session');
    session = await startPgBouncer(db, prod);
    transaction = await startPgBouncer(db, synthesizedPooler('prod', { database: { pooler: { poolMode: 'transaction' } } }));
  }, 120_000);

  afterAll(async () => {
    await session?.stop();
    await transaction?.stop();
    db?.destroy();
  });

  /** One Django request: connect (TLS, verify-full), run `body`, close. */
  async function request<T>(port: number, body: (c: ReturnType<typeof client>) => Promise<T>): Promise<T> {
    const c = client(port, ca);
    await c.connect();
    try {
      return await body(c);
    } finally {
      await c.end();
    }
  }
  const pid = async (c: ReturnType<typeof client>) => Number((await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);

  it('connects with TLS verified both ways (client → PgBouncer verify-full, PgBouncer → server verify-full) and refuses plaintext clients', async () => {
    const ssl = await request(session.port, async (c) => (await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl);
    // The server sees PgBouncer's connection as TLS (server_tls_sslmode=verify-full against the CA).
    expect(ssl).toBe(true);
    // client_tls_sslmode=require: a client without TLS is turned away.
    const plain = new pg.Client({ host: '127.0.0.1', port: session.port, user: APP.user, password: APP.password, database: APP.database, ssl: false });
    await expect(plain.connect()).rejects.toThrow(/SSL required|ssl/i);
    await plain.end().catch(() => undefined);
  });

  it('session mode (the default): a new connection per request reuses the server connection, so PostgreSQL starts no backend per request', async () => {
    const pids = [];
    for (let i = 0; i < 5; i++) pids.push(await request(session.port, pid));
    // Sequential requests: the one pooled server connection serves them all.
    expect(new Set(pids).size).toBe(1);
    // Direct to PostgreSQL, every connection is a new backend.
    const direct = [];
    for (let i = 0; i < 3; i++) direct.push(await request(db.port, pid));
    expect(new Set(direct).size).toBe(3);
  });

  it('session mode: what Django does on its connection works — WITH HOLD cursors across transactions, prepared statements, SET', async () => {
    // GIVEN another request holding a transaction open meanwhile (another gunicorn worker)
    const other = client(session.port, ca);
    await other.connect();
    await other.query('BEGIN');
    await other.query('SELECT 1');
    try {
      const got = await request(session.port, async (c) => {
        // QuerySet.iterator() in autocommit: DECLARE … WITH HOLD, then FETCH per chunk, each its own transaction.
        await c.query('DECLARE "_django_curs_1" NO SCROLL CURSOR WITH HOLD FOR SELECT id FROM t ORDER BY id');
        const rows: number[] = [];
        for (;;) {
          const r = await c.query('FETCH FORWARD 30 FROM "_django_curs_1"');
          if (r.rows.length === 0) break;
          rows.push(...r.rows.map((x) => Number(x.id)));
        }
        await c.query('CLOSE "_django_curs_1"');
        // A named (protocol-level) prepared statement, executed twice.
        const p1 = await c.query({ name: 'q1', text: 'SELECT count(*)::int AS n FROM t WHERE id > $1', values: [90] });
        const p2 = await c.query({ name: 'q1', text: 'SELECT count(*)::int AS n FROM t WHERE id > $1', values: [50] });
        await c.query(`SET statement_timeout = '7s'`);
        const timeout = (await c.query('SHOW statement_timeout')).rows[0].statement_timeout;
        return { rows, p: [p1.rows[0].n, p2.rows[0].n], timeout };
      });
      expect(got.rows).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(got.p).toEqual([10, 50]);
      expect(got.timeout).toBe('7s');
    } finally {
      await other.query('COMMIT');
      await other.end();
    }
    // THEN the next request starts clean (server_reset_query DISCARD ALL): no SET leaks into it.
    expect(await request(session.port, async (c) => (await c.query('SHOW statement_timeout')).rows[0].statement_timeout)).toBe('0');
  });

  it('transaction mode (the option): the same WITH HOLD cursor breaks — why it needs DISABLE_SERVER_SIDE_CURSORS: True — and client-side iteration works', async () => {
    const a = client(transaction.port, ca);
    const b = client(transaction.port, ca);
    await a.connect();
    await b.connect();
    try {
      // A declares the cursor on server connection X (autocommit: X is released right after).
      await a.query('DECLARE "_django_curs_2" NO SCROLL CURSOR WITH HOLD FOR SELECT id FROM t ORDER BY id');
      const x = Number((await a.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      // B starts a transaction and gets X (PgBouncer hands out the most recently used connection first) and keeps it.
      await b.query('BEGIN');
      expect(Number((await b.query('SELECT pg_backend_pid() AS pid')).rows[0].pid)).toBe(x);
      // A's next FETCH lands on another server connection, where the cursor does not exist.
      await expect(a.query('FETCH FORWARD 30 FROM "_django_curs_2"')).rejects.toThrow(/cursor "_django_curs_2" does not exist/);
      // With DISABLE_SERVER_SIDE_CURSORS: True, iterator() is a plain SELECT read on the client: fine.
      expect((await a.query('SELECT id FROM t ORDER BY id')).rows).toHaveLength(100);
      await b.query('COMMIT');
    } finally {
      await a.end();
      await b.end();
    }
  });
});
