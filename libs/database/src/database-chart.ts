import { PlatformChart, type PlatformChartProps } from '@bitpin/k8s';
import type { Construct } from 'constructs';
import { BitpinCluster, type BitpinClusterProps } from './bitpin-cluster.js';

export interface DatabaseChartProps extends PlatformChartProps {
  /** @default - no extra roles, pg_hba rules or parameters */
  readonly cluster?: BitpinClusterProps;
}

/** The database tier as one chart (one file in the synthesized output). */
export class DatabaseChart extends PlatformChart {
  readonly cluster: BitpinCluster;

  constructor(scope: Construct, id: string, props: DatabaseChartProps) {
    super(scope, id, props);
    this.cluster = new BitpinCluster(this, 'BitpinCluster', props.cluster);
  }
}
