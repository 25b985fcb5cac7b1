import { PlatformChart, type PlatformChartProps } from '@bitpin/k8s';
import type { Construct } from 'constructs';
import { Backups, type BackupsProps } from './backups.js';

export interface BackupChartProps extends PlatformChartProps {
  /** @default - the env's backup settings, namespace `bitpin-task` */
  readonly backups?: BackupsProps;
}

/**
 * The backup system as one chart (one file in the synthesized output), in the namespace of the
 * CloudNativePG Cluster. The deployer also passes `chart.backups.databaseAccess` to the database
 * chart (`cluster.roles`, `cluster.pgHba`).
 */
export class BackupChart extends PlatformChart {
  readonly backups: Backups;

  constructor(scope: Construct, id: string, props: BackupChartProps) {
    super(scope, id, props);
    this.backups = new Backups(this, 'Backups', props.backups);
  }
}
