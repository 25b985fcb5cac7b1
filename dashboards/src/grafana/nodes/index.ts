import type { EnvConfig } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { JOBS, notRe, sel, type Matcher } from '../../promql.js';
import { addRow, platformDashboard, prometheusDatasourceVariable, promQuery, queryVariable, thresholds, timeseriesPanel, upperThresholds, varMatch } from '../common.js';

const scope = { job: JOBS.nodeExporter, instance: varMatch('instance') };
const n = (metric: string, extra: Record<string, Matcher> = {}) => sel(metric, { ...scope, ...extra });
const rate = (series: string) => `rate(${series}[$__rate_interval])`;
const disk = { device: notRe('(ram|loop|fd|sr|dm-)\\d*') };
const fs = { fstype: notRe('tmpfs|ramfs|squashfs|overlay|nsfs|fuse.lxcfs'), mountpoint: notRe('') };
const nic = { device: notRe('lo|veth.*|cali.*|cni.*|flannel.*|docker.*|br-.*|virbr.*') };

/** USE method per resource: utilisation, saturation, errors. */
function cpuMemoryPanels() {
  return [
    timeseriesPanel(
      { title: 'CPU utilisation', description: 'Share of CPU time not idle, per node.', unit: units.PercentUnit, min: 0, max: 1, thresholds: upperThresholds(0.8, 0.9) },
      promQuery(`1 - avg by (instance) (${rate(n('node_cpu_seconds_total', { mode: 'idle' }))})`, '{{instance}}'),
    ),
    timeseriesPanel(
      { title: 'CPU saturation (load per core)', description: '1-minute load average divided by the number of CPUs; above 1 work is queueing.', unit: units.Short, min: 0, thresholds: upperThresholds(1, 2) },
      promQuery(`max by (instance) (${n('node_load1')})\n/\ncount by (instance) (${n('node_cpu_seconds_total', { mode: 'idle' })})`, '{{instance}}'),
    ),
    timeseriesPanel(
      { title: 'Memory utilisation', description: '1 − MemAvailable / MemTotal (alert NodeMemoryHighUtilization at 90%).', unit: units.PercentUnit, min: 0, max: 1, thresholds: upperThresholds(0.8, 0.9) },
      promQuery(`1 - max by (instance) (${n('node_memory_MemAvailable_bytes')}) / max by (instance) (${n('node_memory_MemTotal_bytes')})`, '{{instance}}'),
    ),
    timeseriesPanel(
      { title: 'Memory saturation and errors', description: 'Major page faults (reads from disk because memory ran short) and OOM kills per second.', unit: units.OpsPerSecond, min: 0 },
      promQuery(`sum by (instance) (${rate(n('node_vmstat_pgmajfault'))})`, 'major faults {{instance}}'),
      promQuery(`sum by (instance) (${rate(n('node_vmstat_oom_kill'))})`, 'OOM kills {{instance}}'),
    ),
  ];
}

function diskPanels() {
  return [
    timeseriesPanel(
      { title: 'Disk IO utilisation', description: 'Share of time each disk was busy.', unit: units.PercentUnit, min: 0, max: 1, thresholds: upperThresholds(0.8, 0.95) },
      promQuery(`max by (instance, device) (${rate(n('node_disk_io_time_seconds_total', disk))})`, '{{instance}} {{device}}'),
    ),
    timeseriesPanel(
      { title: 'Disk IO saturation', description: 'Average number of IOs in flight (weighted IO time).', unit: units.Short, min: 0, thresholds: upperThresholds(2, 8) },
      promQuery(`max by (instance, device) (${rate(n('node_disk_io_time_weighted_seconds_total', disk))})`, '{{instance}} {{device}}'),
    ),
    timeseriesPanel(
      { title: 'Disk throughput', description: 'Bytes read (+) and written (−) per second.', unit: units.BytesPerSecondSI },
      promQuery(`sum by (instance) (${rate(n('node_disk_read_bytes_total', disk))})`, 'read {{instance}}'),
      promQuery(`-sum by (instance) (${rate(n('node_disk_written_bytes_total', disk))})`, 'written {{instance}}'),
    ),
    timeseriesPanel(
      { title: 'Filesystem usage', description: 'Used share of each real filesystem (alerts at 85% predicted full, 95% and 97%).', unit: units.PercentUnit, min: 0, max: 1, thresholds: upperThresholds(0.85, 0.95) },
      promQuery(`1 - max by (instance, mountpoint) (${n('node_filesystem_avail_bytes', fs)}) / max by (instance, mountpoint) (${n('node_filesystem_size_bytes', fs)})`, '{{instance}} {{mountpoint}}'),
    ),
  ];
}

function networkPanels() {
  return [
    timeseriesPanel(
      { title: 'Network utilisation', description: 'Bytes received (+) and transmitted (−) per second on physical interfaces.', unit: units.BytesPerSecondSI },
      promQuery(`sum by (instance) (${rate(n('node_network_receive_bytes_total', nic))})`, 'rx {{instance}}'),
      promQuery(`-sum by (instance) (${rate(n('node_network_transmit_bytes_total', nic))})`, 'tx {{instance}}'),
    ),
    timeseriesPanel(
      { title: 'Network saturation and errors', description: 'Dropped and errored packets per second.', unit: units.PacketsPerSecond, min: 0, thresholds: upperThresholds(1, 10) },
      promQuery(`sum by (instance) (${rate(n('node_network_receive_drop_total', nic))} + ${rate(n('node_network_transmit_drop_total', nic))})`, 'drops {{instance}}'),
      promQuery(`sum by (instance) (${rate(n('node_network_receive_errs_total', nic))} + ${rate(n('node_network_transmit_errs_total', nic))})`, 'errors {{instance}}'),
    ),
    timeseriesPanel(
      { title: 'Clock offset', description: 'Offset from NTP time (alert NodeClockSkewDetected beyond ±50ms).', unit: units.Seconds, thresholds: upperThresholds(0.05, 0.5) },
      promQuery(`max by (instance) (${n('node_timex_offset_seconds')})`, '{{instance}}'),
    ),
  ];
}

/** Node conditions the node alerts watch beyond USE: Ready (kube-state-metrics), inodes, clock sync. */
function statusPanels() {
  return [
    timeseriesPanel(
      { title: 'Node Ready', description: 'Ready condition of each Kubernetes node (kube-state-metrics; 0 = NotReady or Unknown, alert KubeNodeNotReady). Not filtered by the node variable.', unit: units.Short, min: 0, max: 1, thresholds: thresholds([null, 'red'], [1, 'green']) },
      promQuery(`max by (node) (${sel('kube_node_status_condition', { job: JOBS.kubeStateMetrics, condition: 'Ready', status: 'true' })})`, '{{node}}'),
    ),
    timeseriesPanel(
      { title: 'Filesystem inodes used', description: 'Used share of the inodes of each real filesystem (alerts NodeFilesystemFilesFillingUp, NodeFilesystemAlmostOutOfFiles).', unit: units.PercentUnit, min: 0, max: 1, thresholds: upperThresholds(0.95, 0.97) },
      promQuery(`1 - max by (instance, mountpoint) (${n('node_filesystem_files_free', fs)}) / max by (instance, mountpoint) (${n('node_filesystem_files', fs)})`, '{{instance}} {{mountpoint}}'),
    ),
    timeseriesPanel(
      { title: 'Clock synchronised', description: 'NTP sync status reported by the kernel (1 = synchronised, alert NodeClockNotSynchronising).', unit: units.Short, min: 0, max: 1, thresholds: thresholds([null, 'red'], [1, 'green']) },
      promQuery(`min by (instance) (${n('node_timex_sync_status')})`, '{{instance}}'),
    ),
  ];
}

/** Nodes with the USE method (node-exporter): utilisation, saturation and errors per resource. */
export function nodesDashboard(env: EnvConfig) {
  const b = platformDashboard({
    key: 'nodes',
    description: `Cluster nodes of env ${env.name} with the USE method (Brendan Gregg): utilisation, saturation and errors of CPU, memory, disks and network, from node-exporter.`,
    tags: ['nodes', 'node-exporter'],
    variables: [prometheusDatasourceVariable(), queryVariable('instance', 'Node', `label_values(node_uname_info{job="${JOBS.nodeExporter}"}, instance)`)],
  });
  addRow(b, 'CPU and memory', cpuMemoryPanels(), 12);
  addRow(b, 'Disks and filesystems', diskPanels(), 12);
  addRow(b, 'Network and clock', networkPanels(), 8);
  addRow(b, 'Node status', statusPanels(), 8);
  return b;
}
