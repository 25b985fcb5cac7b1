/**
 * A real PostgreSQL 15 primary for the drill tests: its own data directory, TLS with a CA made
 * here (so clients can use sslmode=verify-full against 127.0.0.1/localhost), a free port on
 * 127.0.0.1, and a pg_hba that admits the backup role only over TLS with a password — the same
 * shape as CloudNativePG's (`hostssl replication <role> ... scram-sha-256`).
 *
 * PostgreSQL refuses to run as root: under root everything (server, psql, the backup scripts)
 * runs as the `postgres` user through runuser; as any other user it runs directly.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PG_BINDIR = process.env['PG_BINDIR'] ?? findBindir();

function findBindir(): string {
  const root = '/usr/lib/postgresql';
  const dir = existsSync(join(root, '15', 'bin')) ? join(root, '15', 'bin') : undefined;
  return dir ?? join(root, (existsSync(root) ? readdirSync(root).sort().at(-1) : '15') ?? '15', 'bin');
}

export const isRoot = process.getuid?.() === 0;

/** The account the server and scripts run as: `postgres` under root, else the current user. */
export const runAs = (() => {
  if (!isRoot) return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
})();

export function postgresAvailable(): boolean {
  return existsSync(join(PG_BINDIR, 'postgres')) && existsSync(join(PG_BINDIR, 'pg_receivewal'));
}

/** A temp directory the server/scripts user owns. */
export function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  if (isRoot) chownSync(dir, runAs.uid, runAs.gid);
  return dir;
}

export function ownedDir(path: string, mode = 0o700): string {
  mkdirSync(path, { recursive: true });
  chmodSync(path, mode);
  if (isRoot) chownSync(path, runAs.uid, runAs.gid);
  return path;
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command as the server user with exactly `env` (plus PATH), bounded in time. */
export function runAsPostgres(cmd: string, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 120_000): RunResult {
  const base = { PATH: `${PG_BINDIR}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, LANG: 'C.UTF-8', TZ: 'UTC' };
  const kv = Object.entries({ ...base, ...env }).map(([k, v]) => `${k}=${v}`);
  const r: SpawnSyncReturns<string> = isRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', 'env', '-i', ...kv, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, cwd: '/' })
    : spawnSync('env', ['-i', ...kv, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, cwd: '/' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Tls {
  readonly dir: string;
  readonly caCert: string;
  readonly otherCaCert: string;
}

/** A CA and a server certificate for localhost/127.0.0.1, plus an unrelated CA for negative tests. */
export function makeTls(dir: string): Tls {
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  o(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=bitpin-test-ca']);
  o(['req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=unrelated-ca']);
  o(['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  o(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext']);
  for (const f of ['ca.crt', 'other-ca.crt', 'server.crt', 'server.key']) {
    const p = join(dir, f);
    chmodSync(p, f.endsWith('.key') ? 0o600 : 0o644);
    if (isRoot) chownSync(p, runAs.uid, runAs.gid);
  }
  return { dir, caCert: join(dir, 'ca.crt'), otherCaCert: join(dir, 'other-ca.crt') };
}

export interface PrimaryOptions {
  /** The role the backup scripts log in as (password auth, TLS only). */
  readonly backupRole: string;
  readonly backupPassword: string;
}

/** A running PostgreSQL 15 primary. */
export class Primary {
  readonly root: string;
  readonly data: string;
  readonly socketDir: string;
  readonly tls: Tls;
  port = 0;

  private constructor(root: string, private readonly opts: PrimaryOptions, tls?: Tls) {
    this.root = root;
    this.data = join(root, 'data');
    this.socketDir = ownedDir(join(root, 'sock'), 0o755);
    this.tls = tls ?? makeTls(ownedDir(join(root, 'tls')));
  }

  /**
   * A streaming standby of this server (pg_basebackup -R over the Unix socket), on its own port
   * and socket, sharing the TLS files: promote it to simulate a failover.
   */
  async startStandby(): Promise<Primary> {
    const s = new Primary(ownedTempDir('bitpin-pg-standby-'), this.opts, this.tls);
    s.port = await freePort();
    s.must(`${PG_BINDIR}/pg_basebackup`, ['-h', this.socketDir, '-p', String(this.port), '-U', 'postgres', '-D', s.data, '-R', '-X', 'stream', '-c', 'fast']);
    writeFileSync(join(s.data, 'postgresql.auto.conf'), `\nport = ${s.port}\nunix_socket_directories = '${s.socketDir}'\n`, { flag: 'a' });
    s.ctl('start');
    return s;
  }

  promote(): void {
    this.must(`${PG_BINDIR}/pg_ctl`, ['-D', this.data, '-w', 'promote']);
  }

  static async start(opts: PrimaryOptions): Promise<Primary> {
    const p = new Primary(ownedTempDir('bitpin-pg-'), opts);
    p.port = await freePort();
    p.must(`${PG_BINDIR}/initdb`, ['-D', p.data, '-U', 'postgres', '--auth-local=trust', '--auth-host=reject', '-E', 'UTF8', '--data-checksums', '--no-sync']);
    const conf = [
      `port = ${p.port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${p.socketDir}'`,
      // CloudNativePG's settings that matter here.
      `wal_level = logical`,
      `max_wal_senders = 10`,
      `max_replication_slots = 10`,
      `max_slot_wal_keep_size = '1GB'`,
      `ssl = on`,
      `ssl_min_protocol_version = 'TLSv1.3'`,
      `ssl_cert_file = '${p.tls.dir}/server.crt'`,
      `ssl_key_file = '${p.tls.dir}/server.key'`,
      `password_encryption = 'scram-sha-256'`,
      // Test speed on a shared machine; WAL content and recovery are unaffected.
      `fsync = off`,
      `full_page_writes = on`,
      `shared_buffers = '32MB'`,
      `max_connections = 30`,
      `log_min_messages = warning`,
    ].join('\n');
    writeFileSync(join(p.data, 'postgresql.conf'), `\n${conf}\n`, { flag: 'a' });
    writeFileSync(
      join(p.data, 'pg_hba.conf'),
      [
        'local all all trust',
        'local replication all trust',
        `hostssl replication ${opts.backupRole} 127.0.0.1/32 scram-sha-256`,
        `hostssl all ${opts.backupRole} 127.0.0.1/32 scram-sha-256`,
        // The application's owner, which a restore Job uses to load a dump.
        'hostssl all app 127.0.0.1/32 scram-sha-256',
        'host all all all reject',
        '',
      ].join('\n'),
    );
    p.ctl('start');
    return p;
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
    const args = ['-D', this.data, '-w', '-t', '60', '-l', join(this.root, 'server.log')];
    if (action !== 'start') args.push('-m', mode);
    this.must(`${PG_BINDIR}/pg_ctl`, [...args, action]);
  }

  /** SQL as the superuser over the Unix socket; returns unaligned tuples. */
  sql(sql: string, db = 'app'): string {
    return this.must(`${PG_BINDIR}/psql`, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', this.socketDir, '-p', String(this.port), '-U', 'postgres', '-d', db, '-c', sql]).trim();
  }

  stop(): void {
    try {
      this.ctl('stop');
    } catch {
      /* already stopped */
    }
  }

  destroy(): void {
    this.stop();
    rmSync(this.root, { recursive: true, force: true });
  }

  private must(cmd: string, args: string[]): string {
    const r = runAsPostgres(cmd, args);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }
}

/** Query a restored instance listening on a private socket directory. */
export function sqlAt(socketDir: string, port: number, db: string, sql: string): string {
  const r = runAsPostgres(`${PG_BINDIR}/psql`, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', db, '-c', sql]);
  if (r.status !== 0) throw new Error(`psql at ${socketDir}: ${r.stderr}`);
  return r.stdout.trim();
}

export function stopAt(dataDir: string): void {
  runAsPostgres(`${PG_BINDIR}/pg_ctl`, ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
}
