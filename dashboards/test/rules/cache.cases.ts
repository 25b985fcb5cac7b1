import type { EnvConfig } from '@bitpin/config';
import { firing, series, silent, type PromtoolCase, type RuleIndex } from '../promtool.js';
import { expanded } from './expand.js';

const ns = 'bitpin-task';
const pod = 'bitpin-redis-5f7c9d8b6-x2x4q';
const redis = (metric: string, values: string) => series(metric, { job: 'redis', namespace: ns, pod, container: 'redis-exporter', instance: '10.244.1.7:9121' }, values);
const limit = (container: string, bytes: number) =>
  series('kube_pod_container_resource_limits', { job: 'kube-state-metrics', namespace: ns, pod, container, resource: 'memory', unit: 'byte', node: 'node-1' }, `${bytes}x20`);
const GiB = 2 ** 30;

/** The Redis cache's rules (redis.rules.yaml), only in envs with cache.enabled. */
export function cacheCases(env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  if (!env.cache.enabled) return [];
  return [
    {
      name: 'RedisDown: Redis stops answering its exporter (redis_up 0) and pages after 2m',
      input_series: [redis('redis_up', '1 1 1 0x10')],
      alert_rule_test: [
        silent('RedisDown', '2m'),
        // 0 from 3m: pending at 3m, firing once it has lasted 2m.
        silent('RedisDown', '4m'),
        firing('RedisDown', '5m', expanded(r, 'RedisDown', 'critical', { job: 'redis', namespace: ns })),
      ],
    },
    {
      name: 'RedisDown: the exporter disappears (no target of job redis) and it pages too; a healthy Redis stays silent',
      input_series: [redis('redis_up', '1 1 stale')],
      alert_rule_test: [silent('RedisDown', '1m'), firing('RedisDown', '5m', expanded(r, 'RedisDown', 'critical', { job: 'redis', namespace: ns }))],
    },
    {
      name: 'RedisDown: silent while redis_up is 1',
      input_series: [redis('redis_up', '1x20')],
      alert_rule_test: [silent('RedisDown', '10m')],
    },
    {
      name: 'RedisMemoryNearMax: resident memory at 92.8% of the redis container limit for 10m; the exporter container limit is not joined',
      input_series: [redis('redis_memory_used_rss_bytes', '996147200x20'), limit('redis', GiB), limit('redis-exporter', 64 * 2 ** 20)],
      alert_rule_test: [
        silent('RedisMemoryNearMax', '9m'),
        firing('RedisMemoryNearMax', '11m', expanded(r, 'RedisMemoryNearMax', 'warning', { namespace: ns, pod }, '92.77%')),
      ],
    },
    {
      name: 'RedisMemoryNearMax: a full cache at maxmemory (75% of the limit) stays silent',
      // maxmemory 768Mi of 1Gi, resident a little above the data: the normal state of a warm cache.
      input_series: [redis('redis_memory_used_rss_bytes', `${820 * 2 ** 20}x20`), redis('redis_memory_used_bytes', `${768 * 2 ** 20}x20`), redis('redis_memory_max_bytes', `${768 * 2 ** 20}x20`), limit('redis', GiB)],
      alert_rule_test: [silent('RedisMemoryNearMax', '15m')],
    },
    {
      name: 'RedisEvictionsHigh: 20 keys/s evicted for 30m (rate() needs two samples: pending from the 2nd-3rd minute)',
      input_series: [redis('redis_evicted_keys_total', '0+1200x45')],
      alert_rule_test: [
        silent('RedisEvictionsHigh', '30m'),
        firing('RedisEvictionsHigh', '34m', expanded(r, 'RedisEvictionsHigh', 'warning', { namespace: ns, pod }, '20')),
      ],
    },
    {
      name: 'RedisEvictionsHigh: 5 keys/s (a full cache turning over) stays silent',
      input_series: [redis('redis_evicted_keys_total', '0+300x45')],
      alert_rule_test: [silent('RedisEvictionsHigh', '40m')],
    },
  ];
}
