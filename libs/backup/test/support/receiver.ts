/**
 * Long-running processes of the WAL receiver tests, run as the server user like everything else
 * here: the receiver (wal-receiver.sh), a writer committing a row every 100 ms, the metrics
 * server, and a SIGKILL of every process of a PostgreSQL server (the machine dying).
 *
 * Each is started in a process group of its own (detached), so a test can SIGKILL all of it at
 * once, as a node failure or the kubelet would; only the processes started here are signalled.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, PG_BINDIR } from '@bitpin/test-support';

export interface Group {
  readonly child: ChildProcess;
  output(): string;
  /** Signals the whole process group. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM to the group, SIGKILL after 10 s; resolves once the leader has exited. */
  stop(): Promise<void>;
  readonly exited: Promise<number | null>;
}

/** `cmd args` as the server user with exactly `env` (plus PATH, LANG, TZ), in a new process group. */
export function startGroup(cmd: string, args: readonly string[], env: Record<string, string>): Group {
  const base = { PATH: `${PG_BINDIR}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, LANG: 'C.UTF-8', TZ: 'UTC' };
  const kv = Object.entries({ ...base, ...env }).map(([k, v]) => `${k}=${v}`);
  const child = isRoot
    ? spawn('runuser', ['-u', 'postgres', '--', 'env', '-i', ...kv, cmd, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' })
    : spawn('env', ['-i', ...kv, cmd, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      /* gone */
    }
  };
  return {
    child,
    output: () => out,
    kill,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const t = setTimeout(() => kill('SIGKILL'), 10_000);
      kill('SIGTERM');
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * A writer: one INSERT every 100 ms over the server's Unix socket (a new psql each time, so a
 * server restart only costs the writes while it is down); every acknowledged commit is appended
 * to `ackFile` as "<id> <epoch seconds of the row's clock_timestamp()>".
 */
export function startWriter(socketDir: string, port: number | string, ackFile: string, table = 'ticks'): Group {
  const script = `
while :; do
  if out=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d app \\
        -c "INSERT INTO ${table} DEFAULT VALUES RETURNING id || ' ' || extract(epoch FROM at)" 2>/dev/null); then
    [[ -z "$out" ]] || echo "$out" >>"$ACKS"
  fi
  sleep 0.1
done`;
  return startGroup('bash', ['-c', script], { SOCK: socketDir, PORT: String(port), ACKS: ackFile });
}

/** The acknowledged commits so far: [id, epoch seconds]. */
export function readAcks(ackFile: string): [number, number][] {
  let text: string;
  try {
    text = readFileSync(ackFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => /^\d+ [\d.]+$/.test(l))
    .map((l) => l.split(' ').map(Number) as [number, number]);
}

/**
 * SIGKILL to the postmaster and every child of it at once (a crashed machine: nothing flushes,
 * nothing says goodbye). Only the processes of this data directory are signalled.
 */
export function sigkillServer(dataDir: string): void {
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  // ps exits 1 when there are none.
  const children = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  // Processes that end meanwhile make kill exit non-zero; the others are killed all the same.
  spawnSync('kill', ['-KILL', String(pid), ...children]);
}
