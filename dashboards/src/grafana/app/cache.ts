import { SEED } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { JOBS, sel } from '../../promql.js';
import { REDIS_EVICTIONS_PER_SECOND, redisMemoryOfLimitExpr } from '../../prometheus/cache.js';
import { promQuery, thresholds, timeseriesPanel, upperThresholds } from '../common.js';

/** The Redis cache's series of the dashboard's namespaces (libs/cache, job `redis`). */
const scope = { job: JOBS.cache, namespace: { re: '$namespace' } } as const;

/** The Redis cache (libs/cache), from its redis_exporter; on the app dashboard where `cache.enabled`. */
export function cachePanels() {
  const rate = (metric: string) => `sum by (pod) (rate(${sel(metric, scope)}[$__rate_interval]))`;
  return [
    timeseriesPanel(
      {
        title: 'Redis up',
        description: `1 = the exporter reaches Redis (${SEED.cache.name}), 0 = it does not; no series: no exporter is scraped (alert: RedisDown).`,
        unit: units.NoUnit,
        min: 0,
        max: 1,
        thresholds: thresholds([null, 'red'], [1, 'green']),
      },
      promQuery(`max by (pod) (${sel('redis_up', scope)})`, '{{pod}}'),
    ),
    timeseriesPanel(
      {
        title: 'Redis memory',
        description: 'Data (used), the maxmemory it is evicted at, and resident memory against the container limit (alert: RedisMemoryNearMax, at 90% of the limit).',
        unit: units.BytesIEC,
        min: 0,
      },
      promQuery(`max by (pod) (${sel('redis_memory_used_bytes', scope)})`, 'used {{pod}}'),
      promQuery(`max by (pod) (${sel('redis_memory_max_bytes', scope)})`, 'maxmemory {{pod}}'),
      promQuery(`max by (pod) (${sel('redis_memory_used_rss_bytes', scope)})`, 'resident {{pod}}'),
    ),
    timeseriesPanel(
      {
        title: 'Redis memory of limit',
        description: 'Resident memory over the container memory limit; at 100% the kernel kills Redis.',
        unit: units.PercentUnit,
        min: 0,
        thresholds: upperThresholds(0.8, 0.9),
      },
      promQuery(redisMemoryOfLimitExpr(scope), '{{pod}}'),
    ),
    timeseriesPanel(
      {
        title: 'Redis evictions',
        description: `Keys evicted per second to stay under maxmemory (alert: RedisEvictionsHigh above ${REDIS_EVICTIONS_PER_SECOND}/s for 30m).`,
        unit: units.Short,
        min: 0,
        thresholds: upperThresholds(REDIS_EVICTIONS_PER_SECOND / 2, REDIS_EVICTIONS_PER_SECOND),
      },
      promQuery(rate('redis_evicted_keys_total'), 'evicted {{pod}}'),
      promQuery(rate('redis_expired_keys_total'), 'expired {{pod}}'),
    ),
    timeseriesPanel(
      { title: 'Redis hit ratio', description: 'Share of key lookups that found the key.', unit: units.PercentUnit, min: 0, max: 1 },
      promQuery(`${rate('redis_keyspace_hits_total')}\n/\n(${rate('redis_keyspace_hits_total')} + ${rate('redis_keyspace_misses_total')})`, '{{pod}}'),
    ),
    timeseriesPanel(
      { title: 'Redis clients and commands', description: 'Connected clients and commands processed per second.', unit: units.Short, min: 0 },
      promQuery(`max by (pod) (${sel('redis_connected_clients', scope)})`, 'clients {{pod}}'),
      promQuery(rate('redis_commands_processed_total'), 'commands/s {{pod}}'),
    ),
  ];
}
