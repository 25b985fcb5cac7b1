/**
 * A real PostgreSQL 15 for tests: its own data directory under a temp dir, a free port on
 * 127.0.0.1 and a private Unix socket directory, optionally TLS with a CA made here, and streaming
 * standbys made with pg_basebackup.
 *
 * PostgreSQL refuses to run as root: under root every PostgreSQL tool (and anything else run with
 * runAsPostgres) runs as the `postgres` user through runuser; as any other user it runs directly.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';
import { requireServer, type ServerSuite } from './servers.js';

/** The server binaries: $PG_BINDIR, else Debian's postgresql-15 (else the newest installed major). */
export const PG_BINDIR = process.env['PG_BINDIR'] ?? findBindir();

function findBindir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(join(root, '15', 'bin')) || !existsSync(root)) return join(root, '15', 'bin');
  return join(root, readdirSync(root).sort().at(-1) ?? '15', 'bin');
}

/** How to get PostgreSQL 15 on a machine that lacks it. */
export const PG_INSTALL_HINT = 'run tools/scripts/install-system.sh (Debian postgresql-15) or set PG_BINDIR';

/** The tools every harness here uses. */
const CORE_TOOLS = ['postgres', 'initdb', 'pg_ctl', 'psql'] as const;

/** The first of `postgres`, `initdb`, `pg_ctl`, `psql` and `extraTools` missing in PG_BINDIR (its path), or undefined. */
export function missingPostgresTool(extraTools: readonly string[] = []): string | undefined {
  return [...CORE_TOOLS, ...extraTools].map((t) => join(PG_BINDIR, t)).find((p) => !existsSync(p));
}

export function postgresAvailable(extraTools: readonly string[] = []): boolean {
  return missingPostgresTool(extraTools) === undefined;
}

/**
 * A `describe` for suites that need a real PostgreSQL 15 (see requireServer): runs when the
 * binaries are there, fails under CI when they are not, is skipped locally when they are not.
 */
export function describeWithPostgres(extraTools: readonly string[] = []): ServerSuite {
  const missing = missingPostgresTool(extraTools);
  return requireServer(`PostgreSQL 15 (${missing ?? PG_BINDIR})`, missing === undefined, PG_INSTALL_HINT);
}

export const isRoot = process.getuid?.() === 0;

/** The account PostgreSQL and the scripts run as: `postgres` under root, else the current user. */
export const serverUser: { readonly uid: number; readonly gid: number } = (() => {
  if (!isRoot) return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
})();

/** chmod, and under root chown to the server user. */
export function own(path: string, mode: number): string {
  chmodSync(path, mode);
  if (isRoot) chownSync(path, serverUser.uid, serverUser.gid);
  return path;
}

/** A new temp directory (0755) the server user owns. */
export function ownedTempDir(prefix: string): string {
  return own(mkdtempSync(join(tmpdir(), prefix)), 0o755);
}

/** `path` (created with its parents) owned by the server user. */
export function ownedDir(path: string, mode = 0o700): string {
  mkdirSync(path, { recursive: true });
  return own(path, mode);
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command as the server user with exactly `env` (plus PATH, LANG, TZ), in `/`, bounded in time. */
export function runAsPostgres(cmd: string, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 120_000): RunResult {
  const base = { PATH: `${PG_BINDIR}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, LANG: 'C.UTF-8', TZ: 'UTC' };
  const kv = Object.entries({ ...base, ...env }).map(([k, v]) => `${k}=${v}`);
  const r: SpawnSyncReturns<string> = isRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', 'env', '-i', ...kv, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, cwd: '/' })
    : spawnSync('env', ['-i', ...kv, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, cwd: '/' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs PG_BINDIR/`tool` as the server user; throws with its output unless it exits 0; returns stdout. */
export function pgTool(tool: string, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 120_000): string {
  const r = runAsPostgres(join(PG_BINDIR, tool), args, env, timeoutMs);
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** psql as `postgres` over a Unix socket directory; returns unaligned tuples, trimmed. */
export function sqlAt(socketDir: string, port: number, db: string, sql: string): string {
  return pgTool('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', db, '-c', sql]).trim();
}

/** Stops the server of `dataDir` (fast shutdown); no error when it is not running. */
export function stopAt(dataDir: string, mode: 'fast' | 'immediate' = 'fast'): void {
  runAsPostgres(join(PG_BINDIR, 'pg_ctl'), ['-D', dataDir, '-m', mode, '-w', 'stop'], {}, 60_000);
}

export interface Tls {
  readonly dir: string;
  /** The CA that signed the server certificate. */
  readonly caCert: string;
  /** An unrelated CA, for verify-ca/verify-full failure cases. */
  readonly otherCaCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

export interface TlsOptions {
  /** The server certificate's subjectAltNames (DNS names or IPv4 addresses); the first is its CN. Default: localhost, 127.0.0.1. */
  readonly names?: readonly string[];
  /** The CA's CN (default bitpin-test-ca). */
  readonly caName?: string;
}

/** A CA, a server certificate signed by it and an unrelated CA, made with openssl in `dir` (EC P-256, 2 days). */
export function makeTls(dir: string, opts: TlsOptions = {}): Tls {
  const names = opts.names ?? ['localhost', '127.0.0.1'];
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  o(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${opts.caName ?? 'bitpin-test-ca'}`]);
  o(['req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=unrelated-ca']);
  o(['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${names[0] ?? 'localhost'}`]);
  const san = names.map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  writeFileSync(join(dir, 'san.ext'), `subjectAltName=${san}\n`);
  o(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext']);
  for (const f of ['ca.crt', 'other-ca.crt', 'server.crt', 'server.key']) own(join(dir, f), f.endsWith('.key') ? 0o600 : 0o644);
  return { dir, caCert: join(dir, 'ca.crt'), otherCaCert: join(dir, 'other-ca.crt'), serverCert: join(dir, 'server.crt'), serverKey: join(dir, 'server.key') };
}

export interface PgServerOptions {
  /** Temp directory prefix (default bitpin-pg-). */
  readonly prefix?: string;
  /** Extra postgresql.conf lines (port, listen_addresses, the socket directory and TLS are set here). */
  readonly conf?: readonly string[];
  /**
   * pg_hba.conf lines after `local all all trust` and `local replication all trust` (the harness
   * uses the socket). Default: initdb's file with `--auth-host`.
   */
  readonly hba?: readonly string[];
  /** initdb --auth-host (default scram-sha-256). */
  readonly authHost?: 'reject' | 'scram-sha-256' | 'trust';
  /** Extra initdb arguments, e.g. --data-checksums. */
  readonly initdbArgs?: readonly string[];
  /** TLS: certificates made here (with these names), or existing ones. Default: no TLS. */
  readonly tls?: TlsOptions | Tls;
}

/** A running PostgreSQL 15 server on 127.0.0.1. */
export class PgServer {
  readonly data: string;
  readonly socketDir: string;
  readonly log: string;

  private constructor(
    readonly root: string,
    readonly port: number,
    readonly tls: Tls | undefined,
  ) {
    this.data = join(root, 'data');
    this.socketDir = ownedDir(join(root, 'sock'), 0o755);
    this.log = join(root, 'server.log');
  }

  /** initdb, configure and start a new server (fsync off: test speed; WAL content and recovery are unaffected). */
  static async start(opts: PgServerOptions = {}): Promise<PgServer> {
    const root = ownedTempDir(opts.prefix ?? 'bitpin-pg-');
    const tls = opts.tls && 'caCert' in opts.tls ? opts.tls : opts.tls ? makeTls(ownedDir(join(root, 'tls')), opts.tls) : undefined;
    const s = new PgServer(root, await freePort(), tls);
    pgTool('initdb', ['-D', s.data, '-U', 'postgres', '--auth-local=trust', `--auth-host=${opts.authHost ?? 'scram-sha-256'}`, '-E', 'UTF8', '--no-sync', ...(opts.initdbArgs ?? [])]);
    const conf = [
      `port = ${s.port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${s.socketDir}'`,
      `fsync = off`,
      `log_min_messages = warning`,
      ...(tls ? [`ssl = on`, `ssl_cert_file = '${tls.serverCert}'`, `ssl_key_file = '${tls.serverKey}'`] : []),
      ...(opts.conf ?? []),
    ];
    writeFileSync(join(s.data, 'postgresql.conf'), `\n${conf.join('\n')}\n`, { flag: 'a' });
    if (opts.hba) writeFileSync(join(s.data, 'pg_hba.conf'), ['local all all trust', 'local replication all trust', ...opts.hba, ''].join('\n'));
    try {
      s.ctl('start');
    } catch (e) {
      rmSync(root, { recursive: true, force: true });
      throw e;
    }
    return s;
  }

  /**
   * A streaming hot standby of this server (pg_basebackup -R over the Unix socket) on its own port
   * and socket, sharing the TLS files: promote() it to simulate a failover.
   */
  async startStandby(prefix = 'bitpin-pg-standby-'): Promise<PgServer> {
    const s = new PgServer(ownedTempDir(prefix), await freePort(), this.tls);
    try {
      pgTool('pg_basebackup', ['-h', this.socketDir, '-p', String(this.port), '-U', 'postgres', '-D', s.data, '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
      writeFileSync(join(s.data, 'postgresql.auto.conf'), `\nport = ${s.port}\nunix_socket_directories = '${s.socketDir}'\n`, { flag: 'a' });
      s.ctl('start');
    } catch (e) {
      s.destroy('immediate');
      throw e;
    }
    return s;
  }

  promote(): void {
    pgTool('pg_ctl', ['-D', this.data, '-w', 'promote']);
  }

  ctl(action: 'start' | 'stop' | 'restart', mode: 'fast' | 'immediate' = 'fast'): void {
    const args = ['-D', this.data, '-w', '-t', '60', '-l', this.log];
    if (action !== 'start') args.push('-m', mode);
    pgTool('pg_ctl', [...args, action]);
  }

  /** SQL over the Unix socket (as `postgres` unless `user` is given); returns unaligned tuples, trimmed. */
  sql(sql: string, db = 'postgres', user = 'postgres'): string {
    return pgTool('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', this.socketDir, '-p', String(this.port), '-U', user, '-d', db, '-c', sql]).trim();
  }

  /** Stops the server; no error when it is not running. */
  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    try {
      this.ctl('stop', mode);
    } catch {
      /* already stopped */
    }
  }

  /** Stops the server and removes its directory. */
  destroy(mode: 'fast' | 'immediate' = 'fast'): void {
    this.stop(mode);
    rmSync(this.root, { recursive: true, force: true });
  }
}
