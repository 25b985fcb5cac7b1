import type { EnvConfig } from '@bitpin/config';
import { JOBS, PLATFORM_NAMESPACES, anyOf, not, sel, type Matcher } from '../promql.js';
import { alert, ruleFile, ruleGroup, type PrometheusRuleFile } from './builder.js';

const ksm = JOBS.kubeStateMetrics;
const ns: Matcher = anyOf(PLATFORM_NAMESPACES);
const k = (metric: string, extra: Record<string, Matcher> = {}) => sel(metric, { job: ksm, namespace: ns, ...extra });
const vol = (metric: string) => sel(metric, { job: JOBS.kubelet, namespace: ns });
const byPvc = 'max by (namespace, persistentvolumeclaim)';

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
      expr: `max by (namespace, pod, container) (
  max_over_time(${k('kube_pod_container_status_waiting_reason', { reason: 'CrashLoopBackOff' })}[5m])
) >= 1`,
      for: '15m',
      severity: 'warning',
      summary: 'Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} is crash looping',
      description:
        'Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has been in CrashLoopBackOff for 15 minutes.',
    }),
    alert({
      name: 'KubePodNotReady',
      expr: `max by (namespace, pod) (${k('kube_pod_status_phase', { phase: anyOf(['Pending', 'Unknown', 'Failed']) })}) > 0
and on (namespace, pod)
max by (namespace, pod) (${k('kube_pod_owner', { owner_kind: not('Job') })})`,
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
  return ruleFile('kubernetes.rules.yaml', [ruleGroup('kubernetes', alerts)]);
}
