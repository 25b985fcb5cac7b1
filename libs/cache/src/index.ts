export { CacheChart } from './cache-chart.js';
export type { CacheChartProps } from './cache-chart.js';
export { BitpinRedis, REDIS_PORTS } from './bitpin-redis.js';
export type { BitpinRedisProps, RedisEndpoint } from './bitpin-redis.js';
export { REDIS_PASSWORD_ENV, REDIS_PATHS, maxmemoryBytes, redisConfig, redisReadyScript, redisServerScript } from './redis-config.js';
export type { RedisConfigOptions } from './redis-config.js';
