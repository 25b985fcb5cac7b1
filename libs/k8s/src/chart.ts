import type { EnvConfig } from '@bitpin/config';
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { MANAGED_BY, PART_OF, ENV_LABEL } from './labels.js';

export interface PlatformChartProps extends ChartProps {
  /** The validated env every construct in the chart reads its values from. */
  readonly env: EnvConfig;
}

/**
 * The base of every library's chart: it carries the env, stamps the platform labels on every
 * object and never lets cdk8s hash names (object names are contracts, e.g. `bitpin-app-svc`).
 */
export class PlatformChart extends Chart {
  readonly env: EnvConfig;

  constructor(scope: Construct, id: string, props: PlatformChartProps) {
    super(scope, id, {
      disableResourceNameHashes: true,
      ...props,
      labels: {
        'app.kubernetes.io/part-of': PART_OF,
        'app.kubernetes.io/managed-by': MANAGED_BY,
        [ENV_LABEL]: props.env.name,
        ...props.labels,
      },
    });
    this.env = props.env;
  }
}
