import type { EnvConfig } from '@bitpin/config';
import { firing, series, silent, type PromtoolCase, type RuleIndex } from '../promtool.js';
import { expanded } from './expand.js';

const node = { job: 'node-exporter', instance: 'node-1', node: 'node-1' };
const fsLabels = { ...node, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' };
const fs = (metric: string, values: string, labels: Record<string, string> = fsLabels) => series(metric, labels, values);
const tmpfs = { ...node, device: 'tmpfs', fstype: 'tmpfs', mountpoint: '/run' };

export function nodeCases(_env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  const almostOut = (severity: 'warning' | 'critical', limit: number, free: string) =>
    r.fired('NodeFilesystemAlmostOutOfSpace', severity, fsLabels, {
      summary: `Filesystem / on node-1 has ${free}% free`,
      description: `Filesystem / (/dev/sda1) on node-1 has had less than ${limit}% space left for 30 minutes.`,
    });
  return [
    {
      name: 'NodeFilesystemSpaceFillingUp: 14% free and shrinking for 1h; tmpfs is ignored',
      input_series: [
        fs('node_filesystem_size_bytes', '100x70'),
        fs('node_filesystem_avail_bytes', '14-0.01x70'),
        fs('node_filesystem_readonly', '0x70'),
        fs('node_filesystem_size_bytes', '100x70', tmpfs),
        fs('node_filesystem_avail_bytes', '1-0.01x70', tmpfs),
        fs('node_filesystem_readonly', '0x70', tmpfs),
      ],
      alert_rule_test: [
        silent('NodeFilesystemSpaceFillingUp', '60m'),
        firing(
          'NodeFilesystemSpaceFillingUp',
          '61m',
          r.fired('NodeFilesystemSpaceFillingUp', 'warning', fsLabels, {
            summary: 'Filesystem / on node-1 is predicted to fill within 24 hours',
            description: 'Filesystem / (/dev/sda1) on node-1 has 13.4% free and, at the growth of the last 6 hours, is full within a day.',
          }),
        ),
      ],
    },
    {
      name: 'NodeFilesystemSpaceFillingUp: 14% free but stable stays silent',
      input_series: [fs('node_filesystem_size_bytes', '100x70'), fs('node_filesystem_avail_bytes', '14x70'), fs('node_filesystem_readonly', '0x70')],
      alert_rule_test: [silent('NodeFilesystemSpaceFillingUp', '70m')],
    },
    {
      name: 'NodeFilesystemAlmostOutOfSpace: under 5% warns after 30m, under 3% pages after 30m',
      input_series: [fs('node_filesystem_size_bytes', '100x80'), fs('node_filesystem_avail_bytes', '10 10 4x40 2x40'), fs('node_filesystem_readonly', '0x80')],
      alert_rule_test: [
        silent('NodeFilesystemAlmostOutOfSpace', '31m'),
        firing('NodeFilesystemAlmostOutOfSpace', '32m', almostOut('warning', 5, '4.0')),
        firing('NodeFilesystemAlmostOutOfSpace', '72m', almostOut('warning', 5, '2.0')),
        firing('NodeFilesystemAlmostOutOfSpace', '73m', almostOut('warning', 5, '2.0'), almostOut('critical', 3, '2.0')),
      ],
    },
    {
      name: 'NodeFilesystemAlmostOutOfSpace: a read-only filesystem with little space stays silent',
      input_series: [fs('node_filesystem_size_bytes', '100x40'), fs('node_filesystem_avail_bytes', '1x40'), fs('node_filesystem_readonly', '1x40')],
      alert_rule_test: [silent('NodeFilesystemAlmostOutOfSpace', '40m')],
    },
    {
      name: 'NodeMemoryHighUtilization: 95% used for 15m',
      input_series: [series('node_memory_MemTotal_bytes', node, '100x30'), series('node_memory_MemAvailable_bytes', node, '50 50 5x30')],
      alert_rule_test: [
        silent('NodeMemoryHighUtilization', '16m'),
        firing(
          'NodeMemoryHighUtilization',
          '17m',
          r.fired('NodeMemoryHighUtilization', 'warning', node, {
            summary: 'Node node-1 uses 95% of its memory',
            description:
              'Memory use on node-1 has been above 90% for 15 minutes; pods without memory limits or above their requests are the first to be OOM-killed or evicted.',
          }),
        ),
      ],
    },
    {
      name: 'NodeMemoryHighUtilization: 80% stays silent',
      input_series: [series('node_memory_MemTotal_bytes', node, '100x30'), series('node_memory_MemAvailable_bytes', node, '20x30')],
      alert_rule_test: [silent('NodeMemoryHighUtilization', '30m')],
    },
    {
      name: 'NodeClockSkewDetected: 100ms off and not converging for 10m',
      input_series: [series('node_timex_offset_seconds', node, '0 0 0.1x30')],
      alert_rule_test: [
        silent('NodeClockSkewDetected', '11m'),
        firing(
          'NodeClockSkewDetected',
          '12m',
          r.fired('NodeClockSkewDetected', 'warning', node, {
            summary: 'Clock on node-1 is off by 100ms',
            description:
              'The clock of node-1 has been more than 50ms off for 10 minutes and is not converging. TLS, token expiry, backup timestamps and recovery_target_time all depend on it.',
          }),
        ),
      ],
    },
    {
      name: 'NodeClockSkewDetected: an offset that is converging stays silent',
      input_series: [series('node_timex_offset_seconds', node, '0.1-0.001x30')],
      alert_rule_test: [silent('NodeClockSkewDetected', '30m')],
    },
    {
      name: 'NodeClockNotSynchronising: unsynchronised with a 16s error bound for 10m',
      input_series: [series('node_timex_sync_status', node, '1 1 0x30'), series('node_timex_maxerror_seconds', node, '16x32')],
      alert_rule_test: [
        silent('NodeClockNotSynchronising', '11m'),
        firing(
          'NodeClockNotSynchronising',
          '12m',
          r.fired('NodeClockNotSynchronising', 'warning', node, {
            summary: 'Clock on node-1 is not synchronising',
            description: 'NTP has not synchronised the clock of node-1 for 10 minutes (maximum error at least 16s).',
          }),
        ),
      ],
    },
    {
      name: 'NodeClockNotSynchronising: unsynchronised but still accurate stays silent',
      input_series: [series('node_timex_sync_status', node, '0x30'), series('node_timex_maxerror_seconds', node, '0.5x30')],
      alert_rule_test: [silent('NodeClockNotSynchronising', '30m')],
    },
    {
      name: 'NodeFilesystemSpaceFillingUp critical: under 10% free and full within 4 hours, for 1h',
      input_series: [fs('node_filesystem_size_bytes', '1000x70'), fs('node_filesystem_avail_bytes', '95-1x70'), fs('node_filesystem_readonly', '0x70')],
      alert_rule_test: [
        silent('NodeFilesystemSpaceFillingUp', '60m'),
        firing(
          'NodeFilesystemSpaceFillingUp',
          '61m',
          expanded(r, 'NodeFilesystemSpaceFillingUp', 'warning', fsLabels, '3.4'),
          expanded(r, 'NodeFilesystemSpaceFillingUp', 'critical', fsLabels, '3.4'),
        ),
      ],
    },
    {
      name: 'NodeFilesystemSpaceFillingUp critical: 9% free but full only in days stays quiet',
      input_series: [fs('node_filesystem_size_bytes', '1000x70'), fs('node_filesystem_avail_bytes', '90-0.01x70'), fs('node_filesystem_readonly', '0x70')],
      alert_rule_test: [silent('NodeFilesystemSpaceFillingUp', '70m')],
    },
    {
      name: 'NodeFilesystemFilesFillingUp: inodes running out within 4 hours warns and pages after 1h',
      input_series: [fs('node_filesystem_files', '1000x70'), fs('node_filesystem_files_free', '150-1x70'), fs('node_filesystem_readonly', '0x70')],
      alert_rule_test: [
        silent('NodeFilesystemFilesFillingUp', '60m'),
        firing(
          'NodeFilesystemFilesFillingUp',
          '61m',
          expanded(r, 'NodeFilesystemFilesFillingUp', 'warning', fsLabels, '8.9'),
          expanded(r, 'NodeFilesystemFilesFillingUp', 'critical', fsLabels, '8.9'),
        ),
      ],
    },
    {
      name: 'NodeFilesystemAlmostOutOfFiles: 4% inodes free warns, 2% pages, after 1h; stable, so not "filling up"',
      input_series: [
        fs('node_filesystem_files', '1000x62'),
        fs('node_filesystem_files_free', '40x62'),
        fs('node_filesystem_readonly', '0x62'),
        fs('node_filesystem_files', '1000x62', { ...fsLabels, device: '/dev/sdb1', mountpoint: '/var/lib/kubelet' }),
        fs('node_filesystem_files_free', '20x62', { ...fsLabels, device: '/dev/sdb1', mountpoint: '/var/lib/kubelet' }),
        fs('node_filesystem_readonly', '0x62', { ...fsLabels, device: '/dev/sdb1', mountpoint: '/var/lib/kubelet' }),
      ],
      alert_rule_test: [
        silent('NodeFilesystemAlmostOutOfFiles', '59m'),
        firing(
          'NodeFilesystemAlmostOutOfFiles',
          '60m',
          expanded(r, 'NodeFilesystemAlmostOutOfFiles', 'warning', fsLabels, '4.0'),
          expanded(r, 'NodeFilesystemAlmostOutOfFiles', 'warning', { ...fsLabels, device: '/dev/sdb1', mountpoint: '/var/lib/kubelet' }, '2.0'),
          expanded(r, 'NodeFilesystemAlmostOutOfFiles', 'critical', { ...fsLabels, device: '/dev/sdb1', mountpoint: '/var/lib/kubelet' }, '2.0'),
        ),
        silent('NodeFilesystemFilesFillingUp', '62m'),
      ],
    },
    {
      name: 'NodeFilesystemAlmostOutOfFiles: 30% inodes free, and a read-only filesystem at 1%, stay quiet',
      input_series: [
        fs('node_filesystem_files', '1000x70'),
        fs('node_filesystem_files_free', '300x70'),
        fs('node_filesystem_readonly', '0x70'),
        fs('node_filesystem_files', '1000x70', { ...fsLabels, mountpoint: '/snap' }),
        fs('node_filesystem_files_free', '10x70', { ...fsLabels, mountpoint: '/snap' }),
        fs('node_filesystem_readonly', '1x70', { ...fsLabels, mountpoint: '/snap' }),
      ],
      alert_rule_test: [silent('NodeFilesystemAlmostOutOfFiles', '70m'), silent('NodeFilesystemFilesFillingUp', '70m')],
    },
  ];
}
