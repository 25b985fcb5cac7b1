import type { EnvConfig } from '@bitpin/config';
import { JOBS, PLATFORM_NAMESPACES, anyOf, not, sel, type Matcher } from '../promql.js';
import { alert, ruleFile, ruleGroup, type PrometheusRuleFile } from './builder.js';

const ksm = JOBS.kubeStateMetrics;
const ns: Matcher = anyOf(PLATFORM_NAMESPACES);
const k = (metric: string, extra: Record<string, Matcher> = {}) => sel(metric, { job: ksm, namespace: ns, ...extra });
const vol = (metric: string) => sel(metric, { job: JOBS.kubelet, namespace: ns });
const byPvc = 'max by (namespace, persistentvolumeclaim)';

/**
 * Adds the `node` of the pod (kube_pod_info) to a per-pod alert, so that Alertmanager can inhibit
 * it while its node is NotReady (one broken node pages once). Pods kube_pod_info does not know
 * (yet) keep the alert without `node`.
 */
export function withPodNode(expr: string): string {
  const indented = expr.replace(/\n/g, '\n  ');
  return `(
  ${indented}
)
* on (namespace, pod) group_left (node)
max by (namespace, pod, node) (${sel('kube_pod_info', { job: ksm, node: { re: '.+' } })})
or on (namespace, pod)
(
  ${indented}
)`;
}

/** Workloads of the platform namespaces (kube-state-metrics, kubelet volume stats); after kubernetes-mixin. */
export function kubernetesRules(_env: EnvConfig): PrometheusRuleFile {
  const availableRatio = `(
  ${byPvc} (${vol('kubelet_volume_stats_available_bytes')})
  /
  ${byPvc} (${vol('kubelet_volume_stats_capacity_bytes')})
)`;
  const used = `(${byPvc} (${vol('kubelet_volume_stats_used_bytes')}) > 0)`;
  const alerts = [
    alert({
      name: 'KubePodCrashLooping',
      expr: withPodNode(`max by (namespace, pod, container) (
  max_over_time(${k('kube_pod_container_status_waiting_reason', { reason: 'CrashLoopBackOff' })}[5m])
) >= 1`),
      for: '15m',
      severity: 'warning',
      summary: 'Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} is crash looping',
      description:
        'Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has been in CrashLoopBackOff for 15 minutes.',
    }),
    alert({
      name: 'KubePodNotReady',
      expr: withPodNode(`max by (namespace, pod) (${k('kube_pod_status_phase', { phase: anyOf(['Pending', 'Unknown', 'Failed']) })}) > 0
and on (namespace, pod)
max by (namespace, pod) (${k('kube_pod_owner', { owner_kind: not('Job') })})`),
      for: '15m',
      severity: 'warning',
      summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} has not been running for 15 minutes',
      description:
        'Pod {{ $labels.namespace }}/{{ $labels.pod }} has been Pending, Unknown or Failed for 15 minutes (Job pods excluded: backup runs have their own alerts).',
    }),
    alert({
      name: 'KubeDeploymentReplicasMismatch',
      expr: `(
  max by (namespace, deployment) (${k('kube_deployment_spec_replicas')})
  >
  max by (namespace, deployment) (${k('kube_deployment_status_replicas_available')})
)
and on (namespace, deployment)
(
  max by (namespace, deployment) (changes(${k('kube_deployment_status_replicas_updated')}[10m])) == 0
)`,
      for: '15m',
      severity: 'warning',
      summary: 'Deployment {{ $labels.namespace }}/{{ $labels.deployment }} lacks available replicas',
      description:
        'Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has had fewer available replicas than desired for 15 minutes, without rollout progress.',
    }),
    alert({
      name: 'KubeDeploymentRolloutStuck',
      expr: `max by (namespace, deployment) (${k('kube_deployment_status_condition', { condition: 'Progressing', status: 'false' })}) != 0`,
      for: '15m',
      severity: 'warning',
      summary: 'Rollout of {{ $labels.namespace }}/{{ $labels.deployment }} is stuck',
      description:
        'Deployment {{ $labels.namespace }}/{{ $labels.deployment }} reports Progressing=False (progress deadline exceeded) for 15 minutes.',
    }),
    alert({
      name: 'KubeStatefulSetReplicasMismatch',
      expr: `(
  max by (namespace, statefulset) (${k('kube_statefulset_status_replicas_ready')})
  !=
  max by (namespace, statefulset) (${k('kube_statefulset_replicas')})
)
and on (namespace, statefulset)
(
  max by (namespace, statefulset) (changes(${k('kube_statefulset_status_replicas_updated')}[10m])) == 0
)`,
      for: '15m',
      severity: 'warning',
      summary: 'StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} lacks ready replicas',
      description:
        'StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} has had a different number of ready replicas than desired for 15 minutes, without rollout progress.',
    }),
    alert({
      name: 'KubeDaemonSetNotReady',
      expr: `max by (namespace, daemonset) (${k('kube_daemonset_status_desired_number_scheduled')})
-
max by (namespace, daemonset) (${k('kube_daemonset_status_number_ready')})
> 0`,
      for: '15m',
      severity: 'warning',
      summary: '{{ $value }} pod(s) of DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} are not ready',
      description:
        'DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} has had pods that are not ready for 15 minutes: nodes without them lose metrics (node-exporter) or logs (log agent).',
    }),
    alert({
      name: 'KubeHpaMaxedOut',
      expr: `(
  max by (namespace, horizontalpodautoscaler) (${k('kube_horizontalpodautoscaler_status_current_replicas')})
  ==
  max by (namespace, horizontalpodautoscaler) (${k('kube_horizontalpodautoscaler_spec_max_replicas')})
)
and on (namespace, horizontalpodautoscaler)
(
  max by (namespace, horizontalpodautoscaler) (${k('kube_horizontalpodautoscaler_spec_max_replicas')})
  >
  max by (namespace, horizontalpodautoscaler) (${k('kube_horizontalpodautoscaler_spec_min_replicas')})
)`,
      for: '15m',
      severity: 'warning',
      summary: 'HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has been at its maximum for 15 minutes',
      description:
        'HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} runs at maxReplicas ({{ $value }}) and cannot add capacity.',
    }),
    alert({
      name: 'KubePersistentVolumeFillingUp',
      expr: `${availableRatio} < 0.03
and on (namespace, persistentvolumeclaim)
${used}`,
      for: '1m',
      severity: 'critical',
      summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free',
      description:
        'PersistentVolumeClaim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has less than 3% free space.',
    }),
    alert({
      name: 'KubePersistentVolumeFillingUp',
      expr: `${availableRatio} < 0.15
and on (namespace, persistentvolumeclaim)
${used}
and on (namespace, persistentvolumeclaim)
${byPvc} (predict_linear(${vol('kubelet_volume_stats_available_bytes')}[6h], 4 * 24 * 3600)) < 0`,
      for: '1h',
      severity: 'warning',
      summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is predicted to fill within 4 days',
      description:
        'PersistentVolumeClaim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free and, at the growth of the last 6 hours, is full within 4 days.',
    }),
  ];
  const inodesFree = `(
  ${byPvc} (${vol('kubelet_volume_stats_inodes_free')})
  /
  ${byPvc} (${vol('kubelet_volume_stats_inodes')})
)`;
  const inodesUsed = `(${byPvc} (${vol('kubelet_volume_stats_inodes_used')}) > 0)`;
  const quota = (type: string) => `max by (namespace, resourcequota, resource) (${k('kube_resourcequota', { type })})`;
  const quotaRatio = `${quota('used')}
/ on (namespace, resourcequota, resource)
(${quota('hard')} > 0)`;
  const pdb = (m: string) => `max by (namespace, poddisruptionbudget) (${k(`kube_poddisruptionbudget_status_${m}`)})`;
  alerts.push(
    alert({
      name: 'KubePersistentVolumeInodesFillingUp',
      expr: `${inodesFree} < 0.03
and on (namespace, persistentvolumeclaim)
${inodesUsed}`,
      for: '1m',
      severity: 'critical',
      summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} of its inodes free',
      description:
        'PersistentVolumeClaim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has less than 3% of its inodes free: creating files (WAL segments, backup files, Loki chunks) fails although bytes are left.',
    }),
    alert({
      name: 'KubePersistentVolumeInodesFillingUp',
      expr: `${inodesFree} < 0.15
and on (namespace, persistentvolumeclaim)
${inodesUsed}
and on (namespace, persistentvolumeclaim)
${byPvc} (predict_linear(${vol('kubelet_volume_stats_inodes_free')}[6h], 4 * 24 * 3600)) < 0`,
      for: '1h',
      severity: 'warning',
      summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is predicted to run out of inodes within 4 days',
      description:
        'PersistentVolumeClaim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} of its inodes free and, at the rate of the last 6 hours, none within 4 days.',
    }),
    alert({
      name: 'KubeNodeNotReady',
      expr: `max by (node) (${sel('kube_node_status_condition', { job: ksm, condition: 'Ready', status: 'true' })}) == 0`,
      // Shorter than the mixin's 15m on purpose: it must fire before the alerts of the node's pods
      // (CNPGInstanceDown 5m, BitpinAppSidecarDown 5m), which Alertmanager inhibits while it fires.
      for: '2m',
      severity: 'critical',
      summary: 'Node {{ $labels.node }} is not ready',
      description:
        'Node {{ $labels.node }} has not been Ready for 2 minutes: its pods (an app replica, a PostgreSQL instance, node-exporter, the log agent) are unreachable and will be evicted. Their own alerts are inhibited while this fires.',
    }),
    alert({
      name: 'KubeQuotaAlmostFull',
      expr: `${quotaRatio}
> 0.9 < 1`,
      for: '15m',
      severity: 'info',
      summary: 'ResourceQuota {{ $labels.namespace }}/{{ $labels.resourcequota }} uses {{ $value | humanizePercentage }} of {{ $labels.resource }}',
      description:
        'Namespace {{ $labels.namespace }} has used more than 90% of its {{ $labels.resource }} quota for 15 minutes. A rollout surge or an HPA scale-up may soon be refused.',
    }),
    alert({
      name: 'KubeQuotaFullyUsed',
      expr: `${quotaRatio}
== 1`,
      for: '15m',
      severity: 'warning',
      summary: 'ResourceQuota {{ $labels.namespace }}/{{ $labels.resourcequota }} is fully used for {{ $labels.resource }}',
      description:
        'Namespace {{ $labels.namespace }} has used all of its {{ $labels.resource }} quota for 15 minutes: the next pod (a rollout surge, an HPA scale-up, a backup Job) is refused by the API server.',
    }),
    alert({
      name: 'KubeQuotaExceeded',
      expr: `${quotaRatio}
> 1`,
      for: '15m',
      severity: 'warning',
      summary: 'ResourceQuota {{ $labels.namespace }}/{{ $labels.resourcequota }} is exceeded for {{ $labels.resource }}',
      description:
        'Namespace {{ $labels.namespace }} uses more {{ $labels.resource }} than its quota allows (the quota was lowered below the usage): every new pod is refused until usage drops.',
    }),
    alert({
      name: 'KubePdbNotEnoughHealthyPods',
      expr: `${pdb('desired_healthy')}
-
${pdb('current_healthy')}
> 0`,
      for: '15m',
      severity: 'warning',
      summary: 'PodDisruptionBudget {{ $labels.namespace }}/{{ $labels.poddisruptionbudget }} lacks {{ $value }} healthy pod(s)',
      description:
        'PodDisruptionBudget {{ $labels.namespace }}/{{ $labels.poddisruptionbudget }} has had fewer healthy pods than it requires for 15 minutes: the workload runs below its availability floor.',
    }),
    alert({
      name: 'KubePdbAtLimit',
      expr: `${pdb('pod_disruptions_allowed')} == 0
and on (namespace, poddisruptionbudget)
(${pdb('current_healthy')} == ${pdb('desired_healthy')})
and on (namespace, poddisruptionbudget)
(${pdb('current_healthy')} < ${pdb('expected_pods')})`,
      for: '15m',
      severity: 'warning',
      summary: 'PodDisruptionBudget {{ $labels.namespace }}/{{ $labels.poddisruptionbudget }} allows no disruption',
      description:
        'PodDisruptionBudget {{ $labels.namespace }}/{{ $labels.poddisruptionbudget }} has been at its limit for 15 minutes because a pod is unhealthy: one more failure breaches it, and node drains (upgrades) block. PDBs that allow no disruption by design (as many pods as required) stay quiet.',
    }),
  );
  return ruleFile('kubernetes.rules.yaml', [ruleGroup('kubernetes', alerts)]);
}
