import { PlatformChart, type PlatformChartProps } from '@bitpin/k8s';
import type { Construct } from 'constructs';
import { Backups, type BackupsProps } from './backups.js';
import { WalReceiver } from './wal-receiver.js';

export interface BackupChartProps extends PlatformChartProps {
  /** @default - the env's backup settings, namespace `bitpin-task` */
  readonly backups?: BackupsProps;
}

/**
 * The backup system as one chart (one file in the synthesized output), in the namespace of the
 * CloudNativePG Cluster: the {@link Backups} (volume, CronJobs, scripts) and, with
 * `backup.walReceiver.enabled`, the {@link WalReceiver} streaming WAL into the same volume. The
 * deployer also passes `chart.backups.databaseAccess` to the database chart (`cluster.roles`,
 * `cluster.pgHba`); the database reads `backup.walReceiver.synchronous` itself.
 */
export class BackupChart extends PlatformChart {
  readonly backups: Backups;
  /** Deployment `bitpin-wal-receiver`, when `backup.walReceiver.enabled`. */
  readonly walReceiver?: WalReceiver;

  constructor(scope: Construct, id: string, props: BackupChartProps) {
    super(scope, id, props);
    this.backups = new Backups(this, 'Backups', props.backups);
    if (props.env.backup.walReceiver.enabled) {
      this.walReceiver = new WalReceiver(this, 'WalReceiver', this.backups._pod, {
        credentialsSecret: this.backups.credentialsSecret,
        compression: this.backups.compression,
      });
    }
  }
}
