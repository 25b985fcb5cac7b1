import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** A long-running child process whose output (the last `keepBytes`) is kept for failure messages. */
export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** Combined stdout and stderr so far (the tail). */
  output(): string;
  /** SIGTERM, then SIGKILL after `killAfterMs`; resolves once the process has exited. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** A name for messages (default: the command). */
  readonly name?: string;
  /** Added to the test's own environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Use exactly `env` instead of adding it to the test's environment. */
  readonly cleanEnv?: boolean;
  readonly cwd?: string;
  /** How much output to keep (default 64 KiB). */
  readonly keepBytes?: number;
  /** Grace period between SIGTERM and SIGKILL in stop() (default 5 s). */
  readonly killAfterMs?: number;
}

/** Spawns `cmd` with stdin closed and stdout/stderr captured. */
export function startProcess(cmd: string, args: readonly string[], opts: StartOptions = {}): Proc {
  const env = opts.cleanEnv ? { ...opts.env } : { ...process.env, ...opts.env };
  const child = spawn(cmd, [...args], { env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const keepBytes = opts.keepBytes ?? 65_536;
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-keepBytes);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (e) => keep(Buffer.from(`spawn error: ${e.message}\n`)));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return {
    name: opts.name ?? cmd,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const kill = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 5_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(kill);
    },
  };
}

export interface RunOutput {
  readonly status: number | null;
  /** stdout followed by stderr. */
  readonly output: string;
}

/** Runs a tool to completion (bounded by `timeoutMs`, default 30 s) with `env` added to the test's. */
export function runTool(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): RunOutput {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `spawn error: ${r.error.message}\n` : ''}` };
}
