import type { EnvConfig } from '@bitpin/config';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { anyOf, CADVISOR, JOBS, not, PLATFORM_NAMESPACES, sel, type Matcher } from '../../promql.js';
import {
  addRow,
  platformDashboard,
  prometheusDatasourceVariable,
  promInstant,
  promQuery,
  promTable,
  queryVariable,
  statPanel,
  tablePanel,
  timeseriesPanel,
  upperThresholds,
  varMatch,
} from '../common.js';

const scope = { namespace: varMatch('namespace'), pod: varMatch('pod') };
const ksm = (metric: string, extra: Record<string, Matcher> = {}, withPod = true) =>
  sel(metric, { job: JOBS.kubeStateMetrics, namespace: scope.namespace, ...(withPod ? { pod: scope.pod } : {}), ...extra });
const cadvisor = (metric: string) => sel(metric, { ...CADVISOR, ...scope, container: not('') });
const pvc = (metric: string) => sel(metric, { job: JOBS.kubelet, namespace: scope.namespace });
const byPod = 'sum by (namespace, pod)';

function overviewPanels() {
  return [
    statPanel(
      { title: 'Pods not running', description: 'Pods in Pending, Unknown or Failed phase.', unit: units.Short, thresholds: upperThresholds(1, 3) },
      promInstant(`sum(max by (namespace, pod) (${ksm('kube_pod_status_phase', { phase: anyOf(['Pending', 'Unknown', 'Failed']) })})) or vector(0)`),
    ),
    statPanel(
      { title: 'Container restarts (1h)', description: 'Container restarts in the last hour.', unit: units.Short, thresholds: upperThresholds(1, 5) },
      promInstant(`sum(increase(${ksm('kube_pod_container_status_restarts_total')}[1h])) or vector(0)`),
    ),
    statPanel(
      { title: 'Deployments short of replicas', description: 'Deployments with fewer available replicas than desired.', unit: units.Short, thresholds: upperThresholds(1, 1) },
      promInstant(`count(${ksm('kube_deployment_spec_replicas', {}, false)} > ${ksm('kube_deployment_status_replicas_available', {}, false)}) or vector(0)`),
    ),
    statPanel(
      { title: 'Volumes above 80%', description: 'PersistentVolumeClaims more than 80% full.', unit: units.Short, thresholds: upperThresholds(1, 1) },
      promInstant(`count((${pvc('kubelet_volume_stats_used_bytes')} / ${pvc('kubelet_volume_stats_capacity_bytes')}) > 0.8) or vector(0)`),
    ),
  ];
}

function podPanels() {
  const cpu = `${byPod} (rate(${cadvisor('container_cpu_usage_seconds_total')}[$__rate_interval]))`;
  const mem = `${byPod} (${cadvisor('container_memory_working_set_bytes')})`;
  return [
    timeseriesPanel({ title: 'CPU by pod', description: 'CPU used per pod (cAdvisor), in cores.', unit: units.Short, min: 0 }, promQuery(cpu, '{{namespace}}/{{pod}}')),
    timeseriesPanel(
      { title: 'CPU vs requests', description: 'CPU used per pod divided by its CPU requests.', unit: units.PercentUnit, min: 0, thresholds: upperThresholds(1, 2) },
      promQuery(`${cpu}\n/\n${byPod} (${ksm('kube_pod_container_resource_requests', { resource: 'cpu' })})`, '{{namespace}}/{{pod}}'),
    ),
    timeseriesPanel({ title: 'Memory by pod', description: 'Working-set memory per pod (what the OOM killer looks at).', unit: units.BytesIEC, min: 0 }, promQuery(mem, '{{namespace}}/{{pod}}')),
    timeseriesPanel(
      { title: 'Memory vs limits', description: 'Working-set memory per pod divided by its memory limits; at 100% the container is OOM-killed.', unit: units.PercentUnit, min: 0, thresholds: upperThresholds(0.8, 0.95) },
      promQuery(`${mem}\n/\n${byPod} (${ksm('kube_pod_container_resource_limits', { resource: 'memory' })})`, '{{namespace}}/{{pod}}'),
    ),
    timeseriesPanel(
      { title: 'Restarts (1h)', description: 'Container restarts in the last hour, per container.', unit: units.Short, min: 0, thresholds: upperThresholds(1, 5) },
      promQuery(`sum by (namespace, pod, container) (increase(${ksm('kube_pod_container_status_restarts_total')}[1h])) > 0`, '{{pod}}/{{container}}'),
    ),
    tablePanel(
      { title: 'Waiting containers', description: 'Containers waiting, with the reason (CrashLoopBackOff, ImagePullBackOff, …).', unit: units.Short },
      promTable(`max by (namespace, pod, container, reason) (${ksm('kube_pod_container_status_waiting_reason')}) > 0`),
    ),
  ];
}

function workloadPanels() {
  const pair = (title: string, description: string, desired: string, actual: string, by: string) =>
    timeseriesPanel(
      { title, description, unit: units.Short, min: 0 },
      promQuery(`max by (namespace, ${by}) (${ksm(desired, {}, false)})`, `desired {{${by}}}`),
      promQuery(`max by (namespace, ${by}) (${ksm(actual, {}, false)})`, `ready {{${by}}}`),
    );
  return [
    pair('Deployments', 'Desired vs available replicas; "rollout stuck" is 1 while a rollout is not progressing (alert KubeDeploymentRolloutStuck).', 'kube_deployment_spec_replicas', 'kube_deployment_status_replicas_available', 'deployment').withTarget(
      promQuery(`max by (namespace, deployment) (${ksm('kube_deployment_status_condition', { condition: 'Progressing', status: 'false' }, false)}) > 0`, 'rollout stuck {{deployment}}').refId('C'),
    ),
    pair('StatefulSets', 'Desired vs ready replicas (Prometheus, Alertmanager, Grafana, Loki).', 'kube_statefulset_replicas', 'kube_statefulset_status_replicas_ready', 'statefulset'),
    pair('DaemonSets', 'Desired vs ready pods (node-exporter, log agent).', 'kube_daemonset_status_desired_number_scheduled', 'kube_daemonset_status_number_ready', 'daemonset'),
    timeseriesPanel(
      { title: 'HPA replicas', description: 'Current, desired and maximum replicas of each HorizontalPodAutoscaler.', unit: units.Short, min: 0 },
      promQuery(`max by (horizontalpodautoscaler) (${ksm('kube_horizontalpodautoscaler_status_current_replicas', {}, false)})`, 'current {{horizontalpodautoscaler}}'),
      promQuery(`max by (horizontalpodautoscaler) (${ksm('kube_horizontalpodautoscaler_status_desired_replicas', {}, false)})`, 'desired {{horizontalpodautoscaler}}'),
      promQuery(`max by (horizontalpodautoscaler) (${ksm('kube_horizontalpodautoscaler_spec_max_replicas', {}, false)})`, 'max {{horizontalpodautoscaler}}'),
    ),
  ];
}

function storageNetworkPanels() {
  return [
    timeseriesPanel(
      { title: 'Volume usage', description: 'Used share of each PersistentVolumeClaim (kubelet volume stats).', unit: units.PercentUnit, min: 0, max: 1, thresholds: upperThresholds(0.8, 0.9) },
      promQuery(
        `max by (namespace, persistentvolumeclaim) (${pvc('kubelet_volume_stats_used_bytes')})\n/\nmax by (namespace, persistentvolumeclaim) (${pvc('kubelet_volume_stats_capacity_bytes')})`,
        '{{namespace}}/{{persistentvolumeclaim}}',
      ),
    ),
    timeseriesPanel(
      { title: 'Network by pod', description: 'Bytes received (+) and transmitted (−) per pod (cAdvisor).', unit: units.BytesPerSecondSI },
      promQuery(`${byPod} (rate(${sel('container_network_receive_bytes_total', { ...CADVISOR, ...scope })}[$__rate_interval]))`, 'rx {{pod}}'),
      promQuery(`-${byPod} (rate(${sel('container_network_transmit_bytes_total', { ...CADVISOR, ...scope })}[$__rate_interval]))`, 'tx {{pod}}'),
    ),
  ];
}

/** Limits the platform can hit: ResourceQuota use, PodDisruptionBudget headroom, volume inodes. */
function limitPanels() {
  const quota = (type: string) => `max by (namespace, resourcequota, resource) (${ksm('kube_resourcequota', { type }, false)})`;
  const pdb = (m: string) => `max by (namespace, poddisruptionbudget) (${ksm(`kube_poddisruptionbudget_status_${m}`, {}, false)})`;
  return [
    timeseriesPanel(
      { title: 'ResourceQuota usage', description: 'Used share of each ResourceQuota hard limit; at 100% the next pod is refused (alerts KubeQuotaAlmostFull, KubeQuotaFullyUsed, KubeQuotaExceeded).', unit: units.PercentUnit, min: 0, thresholds: upperThresholds(0.9, 1) },
      promQuery(`${quota('used')}\n/ on (namespace, resourcequota, resource)\n(${quota('hard')} > 0)`, '{{namespace}} {{resourcequota}} {{resource}}'),
    ),
    timeseriesPanel(
      { title: 'PodDisruptionBudgets', description: 'Healthy vs desired-healthy pods and the disruptions allowed now; 0 allowed means a drain blocks (alerts KubePdbNotEnoughHealthyPods, KubePdbAtLimit).', unit: units.Short, min: 0 },
      promQuery(pdb('current_healthy'), 'healthy {{poddisruptionbudget}}'),
      promQuery(pdb('desired_healthy'), 'desired {{poddisruptionbudget}}'),
      promQuery(pdb('pod_disruptions_allowed'), 'allowed {{poddisruptionbudget}}'),
    ),
    timeseriesPanel(
      { title: 'Volume inodes used', description: 'Used share of the inodes of each PersistentVolumeClaim; a volume out of inodes refuses new files with space left (alert KubePersistentVolumeInodesFillingUp).', unit: units.PercentUnit, min: 0, max: 1, thresholds: upperThresholds(0.85, 0.97) },
      promQuery(
        `max by (namespace, persistentvolumeclaim) (${pvc('kubelet_volume_stats_inodes_used')})\n/\nmax by (namespace, persistentvolumeclaim) (${pvc('kubelet_volume_stats_inodes')})`,
        '{{namespace}}/{{persistentvolumeclaim}}',
      ),
    ),
  ];
}

/** Pods and workloads of the platform namespaces (kube-state-metrics, cAdvisor, kubelet). */
export function workloadsDashboard(env: EnvConfig) {
  const platform = anyOf(PLATFORM_NAMESPACES).re;
  const b = platformDashboard({
    key: 'workloads',
    description: `Pods, workloads and volumes of the platform namespaces (${PLATFORM_NAMESPACES.join(', ')}), env ${env.name}.`,
    tags: ['kubernetes'],
    variables: [
      prometheusDatasourceVariable(),
      queryVariable('namespace', 'Namespace', `label_values(kube_namespace_status_phase{job="${JOBS.kubeStateMetrics}", namespace=~"${platform}"}, namespace)`, {
        allValue: platform,
      }),
      queryVariable('pod', 'Pod', `label_values(kube_pod_info{job="${JOBS.kubeStateMetrics}", namespace=~"$namespace"}, pod)`),
    ],
  });
  addRow(b, 'Overview', overviewPanels(), 6, 4);
  addRow(b, 'Pods', podPanels(), 12);
  addRow(b, 'Workloads', workloadPanels(), 12);
  addRow(b, 'Volumes and network', storageNetworkPanels(), 12);
  addRow(b, 'Quotas, disruption budgets and inodes', limitPanels(), 8);
  return b;
}
