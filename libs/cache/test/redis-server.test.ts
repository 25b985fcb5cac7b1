/**
 * The generated redis.conf and start script on a real redis-server (Debian bookworm's 7.0.15):
 * auth is required, memory stays bounded at `maxmemory` and keys are evicted by the env's policy,
 * nothing is written to disk without persistence, and the readiness check tells a good password
 * from a wrong one.
 */
import { loadEnvConfig } from '@bitpin/config';
import { requireServer, runTool } from '@bitpin/test-support';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { maxmemoryBytes, redisReadyScript } from '../src/index.js';
import { info, RespClient, RespError } from './support/resp.js';
import { REDIS_INSTALL_HINT, redisAvailable, REDIS_SERVER, startRedis, type RunningRedis } from './support/redis.js';

// prod's shape with a small maxmemory, so filling it three times over takes a moment.
const ENV = loadEnvConfig('prod', { overrides: { cache: { maxmemory: '8Mi' } } });
const PASSWORD = randomBytes(32).toString('base64url');

requireServer(`redis-server (${REDIS_SERVER})`, redisAvailable, REDIS_INSTALL_HINT)('redis-server with the generated config', () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis(ENV, PASSWORD);
  });
  afterAll(async () => redis?.stop());

  it('refuses every command before AUTH, and a wrong password', async () => {
    const anon = await RespClient.open(redis.port);
    try {
      const get = await anon.call('GET', 'k');
      expect(get).toBeInstanceOf(RespError);
      expect((get as RespError).message).toMatch(/^NOAUTH Authentication required/);
      expect(await anon.call('SET', 'k', 'v')).toBeInstanceOf(RespError);
      const wrong = await anon.call('AUTH', 'not-the-password');
      expect((wrong as RespError).message).toMatch(/^WRONGPASS/);
      expect(await anon.call('AUTH', PASSWORD)).toBe('OK');
      expect(await anon.call('PING')).toBe('PONG');
    } finally {
      anon.close();
    }
  });

  it('runs with the config the manifest carries: maxmemory, policy, no persistence, debug and module commands off', async () => {
    const c = await redis.client();
    const get = async (key: string) => ((await c.call('CONFIG', 'GET', key)) as string[])[1];
    expect(Number(await get('maxmemory'))).toBe(maxmemoryBytes(ENV.cache));
    expect(await get('maxmemory-policy')).toBe('allkeys-lru');
    expect(await get('save')).toBe('');
    expect(await get('appendonly')).toBe('no');
    expect(await get('enable-debug-command')).toBe('no');
    expect((await c.call('DEBUG', 'SLEEP', '0')) as RespError).toBeInstanceOf(RespError);
    // The password came from the environment (stdin), not from the config file.
    expect(redis.config).not.toContain(PASSWORD);
    expect(redis.config).not.toMatch(/^requirepass/m);
  });

  it('evicts at maxmemory: filling three times over keeps used_memory bounded and counts evictions', async () => {
    const c = await redis.client();
    const max = maxmemoryBytes(ENV.cache);
    const value = Buffer.alloc(4096, 'x');
    const keys = Math.ceil((3 * max) / value.length);
    // Batches of pipelined SETs: Redis evicts before each write that finds memory above maxmemory.
    for (let i = 0; i < keys; i += 500) {
      const batch = Array.from({ length: Math.min(500, keys - i) }, (_, j) => ['SET', `cache:${i + j}`, value] as const);
      const replies = await Promise.all(c.pipeline(batch));
      // allkeys-lru never refuses a write (noeviction would answer OOM here).
      expect(replies.filter((r) => r !== 'OK')).toEqual([]);
    }
    const stats = await info(c, 'stats');
    const memory = await info(c, 'memory');
    const evicted = Number(stats['evicted_keys']);
    const used = Number(memory['used_memory']);
    const dbsize = (await c.call('DBSIZE')) as number;
    console.info(`redis eviction: maxmemory ${max} B, wrote ${keys} keys of 4 KiB (${keys * 4} KiB), kept ${dbsize}, evicted ${evicted}, used_memory ${used} B`);
    expect(evicted).toBeGreaterThan(0);
    // Most of what was written is gone again, none refused.
    expect(evicted).toBeGreaterThan(keys / 2);
    expect(dbsize).toBeLessThan(keys / 2);
    // Bounded: at most maxmemory plus one write's worth of slack.
    expect(used).toBeLessThanOrEqual(max + 64 * 1024);
    expect(Number(memory['maxmemory'])).toBe(max);
    expect(memory['maxmemory_policy']).toBe('allkeys-lru');
    // Persistence off: nothing was written to the working directory.
    const dir = /^dir (.*)$/m.exec(redis.config)![1]!;
    expect(readdirSync(dir).filter((f) => f !== 'redis.conf')).toEqual([]);
  });

  it('the readiness check passes with the password and fails without it', () => {
    const script = redisReadyScript(redis.port);
    expect(runTool('sh', ['-c', script], { REDIS_PASSWORD: PASSWORD }).status).toBe(0);
    expect(runTool('sh', ['-c', script], { REDIS_PASSWORD: 'wrong' }).status).not.toBe(0);
  });
});

it('fails to start without the password: redis-server refuses an empty requirepass line', async () => {
  if (!redisAvailable) return;
  // GIVEN the manifest's script with REDIS_PASSWORD unset THEN Redis does not run unauthenticated.
  await expect(startRedis(ENV, '')).rejects.toThrow(/redis-server exited .*requirepass/s);
}, 30_000);
