import { SEED, type EnvConfig } from '@bitpin/config';
import { JOBS, sel, type Matcher } from '../promql.js';
import { alert, ruleFile, ruleGroup, type PrometheusRuleFile } from './builder.js';

const job = JOBS.cache;
const ns = SEED.namespaces.app;
const name = SEED.cache.name;

/** Resident memory of Redis over its container's memory limit above which RedisMemoryNearMax fires. */
export const REDIS_MEMORY_LIMIT_RATIO = 0.9;
/** Keys evicted per second, sustained, above which RedisEvictionsHigh fires. */
export const REDIS_EVICTIONS_PER_SECOND = 10;

/**
 * Resident memory of Redis (RSS, what the kernel counts against the container) over its memory
 * limit, per pod: redis_exporter's `redis_memory_used_rss_bytes` over kube-state-metrics' limit of
 * the `redis` container.
 */
export const redisMemoryOfLimitExpr = (scope: Readonly<Record<string, Matcher>> = { job }) =>
  `max by (namespace, pod) (${sel('redis_memory_used_rss_bytes', scope)})
/ on (namespace, pod)
max by (namespace, pod) (${sel('kube_pod_container_resource_limits', { job: JOBS.kubeStateMetrics, container: 'redis', resource: 'memory' })})`;

/**
 * The Redis cache (libs/cache), from redis_exporter (job `redis`). {@link buildRuleFiles} includes
 * this file only where `cache.enabled`.
 *
 * "Memory near max" is measured against the container's memory limit, not against `maxmemory`:
 * a warm cache under an evicting policy sits at `maxmemory` by design (libs/cache's exporter test
 * measures used/maxmemory = 1.000 after a fill), so that ratio would page for a healthy cache.
 * What hurts is Redis's resident memory (fragmentation, client buffers on top of the data) reaching
 * the limit: the kernel then OOM-kills it and the cache restarts cold.
 */
export function cacheRules(env: EnvConfig): PrometheusRuleFile {
  const alerts = [
    alert({
      name: 'RedisDown',
      expr: `absent(${sel('redis_up', { job, namespace: ns })} == 1)`,
      for: '2m',
      severity: 'critical',
      labels: { job, namespace: ns },
      summary: `The Redis cache ${name} is down`,
      description: `For 2 minutes no redis_exporter has reported a reachable Redis (redis_up == 1) in ${ns}: the ${name} pod is gone or not ready, Redis does not answer its exporter, or the ${job} scrape job finds no target. Django's cache calls fail (RedisCache raises connection errors) until it is back.`,
    }),
    alert({
      name: 'RedisMemoryNearMax',
      expr: `${redisMemoryOfLimitExpr()}
> ${REDIS_MEMORY_LIMIT_RATIO}`,
      for: '10m',
      severity: 'warning',
      summary: 'Redis {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its memory limit',
      description: `For 10 minutes the resident memory of Redis in {{ $labels.namespace }}/{{ $labels.pod }} has been above ${REDIS_MEMORY_LIMIT_RATIO * 100}% of its container's memory limit. maxmemory (cache.maxmemory) leaves headroom for fragmentation and client buffers; it is used up, and at the limit the kernel kills Redis (a cold cache). Raise cache.resources.limits.memory or lower cache.maxmemory.`,
    }),
    alert({
      name: 'RedisEvictionsHigh',
      expr: `sum by (namespace, pod) (rate(${sel('redis_evicted_keys_total', { job })}[5m])) > ${REDIS_EVICTIONS_PER_SECOND}`,
      for: '30m',
      severity: 'warning',
      summary: 'Redis {{ $labels.pod }} evicts {{ $value | humanize }} keys/s',
      description: `For 30 minutes Redis in {{ $labels.namespace }}/{{ $labels.pod }} has evicted more than ${REDIS_EVICTIONS_PER_SECOND} keys per second to stay under maxmemory (policy ${env.cache.maxmemoryPolicy}): the working set does not fit, entries are pushed out before they are reused and requests fall through to the database. Raise cache.maxmemory (and the memory limit with it).`,
    }),
  ];
  return ruleFile('redis.rules.yaml', [ruleGroup('redis', alerts)]);
}
