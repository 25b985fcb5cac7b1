import { PlatformChart, type PlatformChartProps } from '@bitpin/k8s';
import type { Construct } from 'constructs';
import { BitpinApp, type BitpinAppProps } from './bitpin-app.js';

export interface AppChartProps extends PlatformChartProps {
  /** @default - the secure defaults of {@link BitpinApp} */
  readonly app?: BitpinAppProps;
}

/** The application tier as one chart (one file in the synthesized output). */
export class AppChart extends PlatformChart {
  readonly app: BitpinApp;

  constructor(scope: Construct, id: string, props: AppChartProps) {
    super(scope, id, props);
    this.app = new BitpinApp(this, 'BitpinApp', props.app);
  }
}
