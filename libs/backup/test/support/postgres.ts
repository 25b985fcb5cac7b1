/**
 * A real PostgreSQL 15 primary for the drill tests (@bitpin/test-support's PgServer): TLS with a
 * CA made here (so clients can use sslmode=verify-full against 127.0.0.1/localhost), and a pg_hba
 * that admits the backup role only over TLS with a password — the same shape as CloudNativePG's
 * (`hostssl replication <role> ... scram-sha-256`).
 *
 * PostgreSQL refuses to run as root: under root everything (server, psql, the backup scripts)
 * runs as the `postgres` user through runuser (runAsPostgres); as any other user it runs directly.
 */
import { PG_BINDIR, PgServer, type Tls } from '@bitpin/test-support';

export interface PrimaryOptions {
  /** The role the backup scripts log in as (password auth, TLS only). */
  readonly backupRole: string;
  readonly backupPassword: string;
}

/** A running PostgreSQL 15 primary (or a standby of one), with the libpq variables of its roles. */
export class Primary {
  private constructor(
    readonly server: PgServer,
    private readonly opts: PrimaryOptions,
  ) {}

  static async start(opts: PrimaryOptions): Promise<Primary> {
    const server = await PgServer.start({
      prefix: 'bitpin-pg-',
      authHost: 'reject',
      initdbArgs: ['--data-checksums'],
      tls: { names: ['localhost', '127.0.0.1'] },
      conf: [
        // CloudNativePG's settings that matter here.
        `wal_level = logical`,
        `max_wal_senders = 10`,
        `max_replication_slots = 10`,
        `max_slot_wal_keep_size = '1GB'`,
        `ssl_min_protocol_version = 'TLSv1.3'`,
        `password_encryption = 'scram-sha-256'`,
        `full_page_writes = on`,
        `shared_buffers = '32MB'`,
        `max_connections = 30`,
      ],
      hba: [
        `hostssl replication ${opts.backupRole} 127.0.0.1/32 scram-sha-256`,
        `hostssl all ${opts.backupRole} 127.0.0.1/32 scram-sha-256`,
        // The application's owner, which a restore Job uses to load a dump.
        'hostssl all app 127.0.0.1/32 scram-sha-256',
        'host all all all reject',
      ],
    });
    return new Primary(server, opts);
  }

  get port(): number {
    return this.server.port;
  }

  get socketDir(): string {
    return this.server.socketDir;
  }

  get tls(): Tls {
    return this.server.tls!;
  }

  /**
   * A streaming standby of this server (pg_basebackup -R over the Unix socket), on its own port
   * and socket, sharing the TLS files: promote it to simulate a failover.
   */
  async startStandby(): Promise<Primary> {
    return new Primary(await this.server.startStandby('bitpin-pg-standby-'), this.opts);
  }

  promote(): void {
    this.server.promote();
  }

  /** libpq variables for the application owner `app` (password `app-pw`). */
  appEnv(): Record<string, string> {
    return { ...this.backupEnv(), PGUSER: 'app', PGPASSWORD: 'app-pw' };
  }

  /** libpq variables for the backup role: TLS verify-full against localhost. */
  backupEnv(): Record<string, string> {
    return {
      PGHOST: 'localhost',
      PGPORT: String(this.port),
      PGUSER: this.opts.backupRole,
      PGPASSWORD: this.opts.backupPassword,
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: this.tls.caCert,
      PGDATABASE: 'app',
      PG_BINDIR,
    };
  }

  ctl(action: 'start' | 'stop' | 'restart', mode: 'fast' | 'immediate' = 'fast'): void {
    this.server.ctl(action, mode);
  }

  /** SQL as the superuser over the Unix socket (database `app` unless named); returns unaligned tuples. */
  sql(sql: string, db = 'app'): string {
    return this.server.sql(sql, db);
  }

  stop(): void {
    this.server.stop();
  }

  destroy(): void {
    this.server.destroy();
  }
}
