/**
 * A real redis-server (Debian bookworm's package, tools/scripts/install-system.sh) started the way
 * the pod starts it: the manifest's `sh -c` script and the ConfigMap's redis.conf, with only the
 * pod-specific lines replaced (the working directory, the port, the address: 127.0.0.1).
 */
import { CacheChart } from '../../src/index.js';
import type { EnvConfig } from '@bitpin/config';
import { freePort, startProcess, waitFor, type Proc } from '@bitpin/test-support';
import { App } from 'cdk8s';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RespClient, RespError } from './resp.js';

export const REDIS_SERVER = process.env['REDIS_SERVER_BIN'] ?? '/usr/bin/redis-server';
export const REDIS_INSTALL_HINT = 'run tools/scripts/install-system.sh (Debian package redis-server)';
export const redisAvailable = existsSync(REDIS_SERVER);

/** The cache chart's objects for `env` (cache on). */
export function cacheObjects(env: EnvConfig): any[] {
  return new CacheChart(new App(), 'cache', { env }).toJson() as any[];
}

/** What the pod runs: the Redis container's script and the ConfigMap's redis.conf. */
export function podStart(env: EnvConfig): { script: string; config: string; configPath: string; passwordEnv: string } {
  const objects = cacheObjects(env);
  const deploy = objects.find((o) => o.kind === 'Deployment');
  const cm = objects.find((o) => o.kind === 'ConfigMap');
  const redis = deploy.spec.template.spec.containers.find((c: any) => c.name === 'redis');
  const mount = redis.volumeMounts.find((m: any) => m.name === 'config').mountPath;
  const [sh, flag, script] = redis.command;
  if (sh !== 'sh' || flag !== '-c') throw new Error(`the redis container's command is not sh -c: ${JSON.stringify(redis.command)}`);
  return { script, config: cm.data['redis.conf'], configPath: `${mount}/redis.conf`, passwordEnv: redis.env[0].name };
}

export interface RunningRedis {
  readonly port: number;
  readonly password: string;
  readonly proc: Proc;
  /** The config file the server read (the manifest's, three lines replaced). */
  readonly config: string;
  /** An authenticated connection. */
  client(): Promise<RespClient>;
  stop(): Promise<void>;
}

/** Starts redis-server exactly as the pod does for `env`, on a free port in a temporary directory. */
export async function startRedis(env: EnvConfig, password: string): Promise<RunningRedis> {
  const pod = podStart(env);
  const dir = await mkdtemp(join(tmpdir(), 'bitpin-cache-redis-'));
  const port = await freePort();
  const replace = (text: string, re: RegExp, line: string) => {
    if (!re.test(text)) throw new Error(`redis.conf of the manifest has no line matching ${re}`);
    return text.replace(re, line);
  };
  let config = replace(pod.config, /^dir .*$/m, `dir ${dir}`);
  config = replace(config, /^port .*$/m, `port ${port}`);
  config = replace(config, /^bind .*$/m, 'bind 127.0.0.1');
  const configPath = join(dir, 'redis.conf');
  await writeFile(configPath, config);
  const script = pod.script.split(pod.configPath).join(configPath);
  const proc = startProcess('sh', ['-c', script], { name: 'redis-server', env: { [pod.passwordEnv]: password, PATH: `/usr/bin:/bin:${process.env['PATH'] ?? ''}` } });
  const clients: RespClient[] = [];
  const connectAuthed = async () => {
    const c = await RespClient.open(port);
    const auth = await c.call('AUTH', password);
    if (auth instanceof RespError) throw new Error(`AUTH failed: ${auth.message}`);
    clients.push(c);
    return c;
  };
  // A server that exits (a bad config) ends the wait at once, with its output.
  const exited = new Promise<never>((_, reject) =>
    proc.child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${proc.output().trim()}`))),
  );
  exited.catch(() => undefined);
  try {
    await Promise.race([
      exited,
      waitFor(`redis-server on :${port}`, async () => {
        const c = await connectAuthed();
        return (await c.call('PING')) === 'PONG';
      }, 20_000),
    ]);
  } catch (e) {
    clients.forEach((c) => c.close());
    await proc.stop();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    password,
    proc,
    config,
    client: connectAuthed,
    stop: async () => {
      clients.forEach((c) => c.close());
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
