import { PlatformChart, type PlatformChartProps } from '@bitpin/k8s';
import type { Construct } from 'constructs';
import { BitpinRedis, type BitpinRedisProps } from './bitpin-redis.js';

export interface CacheChartProps extends PlatformChartProps {
  /** @default - the secure defaults of {@link BitpinRedis} */
  readonly redis?: BitpinRedisProps;
}

/**
 * The cache tier as one chart (one file, `cache.yaml`, in the synthesized output). Empty when the
 * env's `cache.enabled` is off.
 */
export class CacheChart extends PlatformChart {
  /** The Redis cache; undefined when `cache.enabled` is off. */
  readonly redis?: BitpinRedis;

  constructor(scope: Construct, id: string, props: CacheChartProps) {
    super(scope, id, props);
    if (props.env.cache.enabled) this.redis = new BitpinRedis(this, 'BitpinRedis', props.redis);
  }
}
