import { PlatformChart, type PlatformChartProps } from '@bitpin/k8s';
import type { Construct } from 'constructs';
import { BitpinCluster, type BitpinClusterProps } from './bitpin-cluster.js';
import { BitpinPooler, PoolerNetworkPolicies } from './bitpin-pooler.js';

export interface DatabaseChartProps extends PlatformChartProps {
  /** @default - no extra roles, pg_hba rules or parameters */
  readonly cluster?: BitpinClusterProps;
}

/** The database tier as one chart (one file in the synthesized output). */
export class DatabaseChart extends PlatformChart {
  readonly cluster: BitpinCluster;
  /** The Poolers (PgBouncer): `-rw` with `database.pooler`, and `-ro` when read replicas are on too. */
  readonly poolers: readonly BitpinPooler[];

  constructor(scope: Construct, id: string, props: DatabaseChartProps) {
    super(scope, id, props);
    this.cluster = new BitpinCluster(this, 'BitpinCluster', props.cluster);
    this.poolers = this.cluster.poolerNames().map((name) =>
      new BitpinPooler(this, name === this.cluster.names.poolerRw ? 'PoolerRw' : 'PoolerRo', { type: name === this.cluster.names.poolerRw ? 'rw' : 'ro' }),
    );
    if (this.poolers.length && this.env.features.networkPolicies.enabled) new PoolerNetworkPolicies(this, 'PoolerNetworkPolicies');
  }
}
