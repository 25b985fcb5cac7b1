import type { EnvConfig } from '@bitpin/config';
import { JOBS, notRe, sel } from '../promql.js';
import { alert, ruleFile, ruleGroup, type PrometheusRuleFile } from './builder.js';

const job = JOBS.nodeExporter;
/** Real filesystems only: pseudo and in-memory filesystems never fill a disk. */
const fs = { job, fstype: notRe('tmpfs|ramfs|squashfs|overlay|nsfs|fuse.lxcfs'), mountpoint: notRe('') } as const;
const avail = sel('node_filesystem_avail_bytes', fs);
const size = sel('node_filesystem_size_bytes', fs);
const readonly = sel('node_filesystem_readonly', fs);
const availPercent = `(${avail} / ${size} * 100)`;
const filesFree = sel('node_filesystem_files_free', fs);
const filesPercent = `(${filesFree} / ${sel('node_filesystem_files', fs)} * 100)`;

/** Nodes (node-exporter), after node-mixin. */
export function nodeRules(_env: EnvConfig): PrometheusRuleFile {
  const almostOut = (severity: 'warning' | 'critical', limit: number) =>
    alert({
      name: 'NodeFilesystemAlmostOutOfSpace',
      expr: `${availPercent} < ${limit}
and
${readonly} == 0`,
      for: '30m',
      severity,
      summary: 'Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | printf "%.1f" }}% free',
      description: `Filesystem {{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.instance }} has had less than ${limit}% space left for 30 minutes.`,
    });
  const alerts = [
    alert({
      name: 'NodeFilesystemSpaceFillingUp',
      expr: `${availPercent} < 15
and
predict_linear(${avail}[6h], 24 * 60 * 60) < 0
and
${readonly} == 0`,
      for: '1h',
      severity: 'warning',
      summary: 'Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} is predicted to fill within 24 hours',
      description:
        'Filesystem {{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.instance }} has {{ $value | printf "%.1f" }}% free and, at the growth of the last 6 hours, is full within a day.',
    }),
    alert({
      name: 'NodeFilesystemSpaceFillingUp',
      expr: `${availPercent} < 10
and
predict_linear(${avail}[6h], 4 * 60 * 60) < 0
and
${readonly} == 0`,
      for: '1h',
      severity: 'critical',
      summary: 'Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} is predicted to fill within 4 hours',
      description:
        'Filesystem {{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.instance }} has {{ $value | printf "%.1f" }}% free and, at the growth of the last 6 hours, is full within 4 hours.',
    }),
    almostOut('warning', 5),
    almostOut('critical', 3),
    ...(
      [
        ['warning', 40, 24],
        ['critical', 20, 4],
      ] as const
    ).map(([severity, limit, hours]) =>
      alert({
        name: 'NodeFilesystemFilesFillingUp',
        expr: `${filesPercent} < ${limit}
and
predict_linear(${filesFree}[6h], ${hours} * 60 * 60) < 0
and
${readonly} == 0`,
        for: '1h',
        severity,
        summary: `Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} is predicted to run out of inodes within ${hours} hours`,
        description: `Filesystem {{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.instance }} has {{ $value | printf "%.1f" }}% of its inodes free and, at the rate of the last 6 hours, none within ${hours} hours. Creating files fails then, although bytes are left.`,
      }),
    ),
    ...(
      [
        ['warning', 5],
        ['critical', 3],
      ] as const
    ).map(([severity, limit]) =>
      alert({
        name: 'NodeFilesystemAlmostOutOfFiles',
        expr: `${filesPercent} < ${limit}
and
${readonly} == 0`,
        for: '1h',
        severity,
        summary: 'Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | printf "%.1f" }}% of its inodes free',
        description: `Filesystem {{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.instance }} has had less than ${limit}% of its inodes left for an hour.`,
      }),
    ),
    alert({
      name: 'NodeMemoryHighUtilization',
      expr: `100 - (${sel('node_memory_MemAvailable_bytes', { job })} / ${sel('node_memory_MemTotal_bytes', { job })} * 100) > 90`,
      for: '15m',
      severity: 'warning',
      summary: 'Node {{ $labels.instance }} uses {{ $value | printf "%.0f" }}% of its memory',
      description:
        'Memory use on {{ $labels.instance }} has been above 90% for 15 minutes; pods without memory limits or above their requests are the first to be OOM-killed or evicted.',
    }),
    alert({
      name: 'NodeClockSkewDetected',
      expr: `(
  ${sel('node_timex_offset_seconds', { job })} > 0.05
  and
  deriv(${sel('node_timex_offset_seconds', { job })}[5m]) >= 0
)
or
(
  ${sel('node_timex_offset_seconds', { job })} < -0.05
  and
  deriv(${sel('node_timex_offset_seconds', { job })}[5m]) <= 0
)`,
      for: '10m',
      severity: 'warning',
      summary: 'Clock on {{ $labels.instance }} is off by {{ $value | humanizeDuration }}',
      description:
        'The clock of {{ $labels.instance }} has been more than 50ms off for 10 minutes and is not converging. TLS, token expiry, backup timestamps and recovery_target_time all depend on it.',
    }),
    alert({
      name: 'NodeClockNotSynchronising',
      expr: `min_over_time(${sel('node_timex_sync_status', { job })}[5m]) == 0
and
${sel('node_timex_maxerror_seconds', { job })} >= 16`,
      for: '10m',
      severity: 'warning',
      summary: 'Clock on {{ $labels.instance }} is not synchronising',
      description: 'NTP has not synchronised the clock of {{ $labels.instance }} for 10 minutes (maximum error at least 16s).',
    }),
  ];
  return ruleFile('nodes.rules.yaml', [ruleGroup('nodes', alerts)]);
}
