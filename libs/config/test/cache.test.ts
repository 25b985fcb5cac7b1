import { describe, expect, it } from 'vitest';
import { loadEnvConfig, SEED } from '../src/index.js';
import { errorOf } from './support/errors.js';

describe('cache (Redis) config', () => {
  it('is off in local and the seed defaults, on in dev, staging and prod with an evicting policy and no persistence', () => {
    // GIVEN the shipped envs THEN the switch is where the issue says (off in local, on in prod)
    expect(loadEnvConfig('local').cache.enabled).toBe(false);
    for (const name of ['dev', 'staging', 'prod'] as const) {
      const c = loadEnvConfig(name).cache;
      expect(c).toMatchObject({ enabled: true, maxmemoryPolicy: 'allkeys-lru', persistence: { enabled: false } });
    }
    expect(loadEnvConfig('prod').cache).toMatchObject({ maxmemory: '768Mi', resources: { limits: { memory: '1Gi' } } });
    expect(SEED.cache).toMatchObject({ name: 'bitpin-redis', port: 6379, metricsPort: 9121 });
    expect(SEED.monitoring.jobs.cache).toBe('redis');
  });

  it('fails when maxmemory leaves no headroom under the memory limit (half with persistence on)', () => {
    const e = errorOf(() => loadEnvConfig('dev', { overrides: { cache: { maxmemory: '240Mi' } } }));
    expect(e.lines).toHaveLength(1);
    expect(e.message).toMatch(/env "dev" at cache\.maxmemory: 240Mi leaves Redis no headroom under its 256Mi memory limit; use at most 75% of cache\.resources\.limits\.memory/);
    const p = errorOf(() => loadEnvConfig('dev', { overrides: { cache: { persistence: { enabled: true } } } }));
    expect(p.message).toMatch(/at cache\.maxmemory: 192Mi .* use at most 50% of cache\.resources\.limits\.memory \(persistence on: the snapshot fork may copy the whole dataset\)/);
  });

  it('fails on noeviction and on a policy Redis does not know', () => {
    const e = errorOf(() => loadEnvConfig('prod', { overrides: { cache: { maxmemoryPolicy: 'noeviction' } } }));
    expect(e.lines).toHaveLength(1);
    expect(e.message).toMatch(/at cache\.maxmemoryPolicy: noeviction makes a full cache refuse writes/);
    const u = errorOf(() => loadEnvConfig('prod', { overrides: { cache: { maxmemoryPolicy: 'lru' as never } } }));
    expect(u.message).toMatch(/at cache\.maxmemoryPolicy: .*allkeys-lru/);
  });
});
