import type { EnvConfig } from '@bitpin/config';
import { firing, series, silent, type PromtoolCase, type RuleIndex } from '../promtool.js';
import { expanded } from './expand.js';

const ns = 'bitpin-task';
const ksm = (metric: string, labels: Record<string, string>, values: string) =>
  series(metric, { job: 'kube-state-metrics', instance: '10.0.0.3:8080', namespace: ns, ...labels }, values);
const kubelet = (metric: string, pvc: string, values: string, namespace = 'monitoring') =>
  series(metric, { job: 'kubelet', namespace, persistentvolumeclaim: pvc, node: 'node-1' }, values);

export function kubernetesCases(_env: EnvConfig, r: RuleIndex): PromtoolCase[] {
  return [
    {
      name: 'KubePodCrashLooping: CrashLoopBackOff for 15m in a platform namespace',
      input_series: [
        ksm('kube_pod_container_status_waiting_reason', { pod: 'bitpin-app-a', container: 'app', reason: 'CrashLoopBackOff', uid: 'u1' }, '_ _ 1x30'),
        series('kube_pod_container_status_waiting_reason', { job: 'kube-state-metrics', namespace: 'kube-system', pod: 'coredns-1', container: 'coredns', reason: 'CrashLoopBackOff' }, '1x32'),
      ],
      alert_rule_test: [
        silent('KubePodCrashLooping', '16m'),
        firing(
          'KubePodCrashLooping',
          '17m',
          r.fired('KubePodCrashLooping', 'warning', { namespace: ns, pod: 'bitpin-app-a', container: 'app' }, {
            summary: `Container app of ${ns}/bitpin-app-a is crash looping`,
            description: `Container app of pod ${ns}/bitpin-app-a has been in CrashLoopBackOff for 15 minutes.`,
          }),
        ),
      ],
    },
    {
      name: 'KubePodCrashLooping: a container waiting for another reason stays silent',
      input_series: [ksm('kube_pod_container_status_waiting_reason', { pod: 'bitpin-app-a', container: 'app', reason: 'ContainerCreating' }, '1x30')],
      alert_rule_test: [silent('KubePodCrashLooping', '30m')],
    },
    {
      name: 'KubePodNotReady: a Pending ReplicaSet pod for 15m fires, a Pending Job pod does not',
      input_series: [
        ksm('kube_pod_status_phase', { pod: 'bitpin-app-a', phase: 'Pending' }, '0 0 1x30'),
        ksm('kube_pod_status_phase', { pod: 'bitpin-app-a', phase: 'Running' }, '1 1 0x30'),
        ksm('kube_pod_owner', { pod: 'bitpin-app-a', owner_kind: 'ReplicaSet', owner_name: 'bitpin-app-5d9', owner_is_controller: 'true' }, '1x32'),
        ksm('kube_pod_status_phase', { pod: 'bitpin-full-backup-1-x', phase: 'Pending' }, '1x32'),
        ksm('kube_pod_owner', { pod: 'bitpin-full-backup-1-x', owner_kind: 'Job', owner_name: 'bitpin-full-backup-1', owner_is_controller: 'true' }, '1x32'),
      ],
      alert_rule_test: [
        silent('KubePodNotReady', '16m'),
        firing(
          'KubePodNotReady',
          '17m',
          r.fired('KubePodNotReady', 'warning', { namespace: ns, pod: 'bitpin-app-a' }, {
            summary: `Pod ${ns}/bitpin-app-a has not been running for 15 minutes`,
            description: `Pod ${ns}/bitpin-app-a has been Pending, Unknown or Failed for 15 minutes (Job pods excluded: backup runs have their own alerts).`,
          }),
        ),
      ],
    },
    {
      name: 'KubePodNotReady: a Running pod stays silent',
      input_series: [
        ksm('kube_pod_status_phase', { pod: 'bitpin-app-a', phase: 'Running' }, '1x30'),
        ksm('kube_pod_status_phase', { pod: 'bitpin-app-a', phase: 'Pending' }, '0x30'),
        ksm('kube_pod_owner', { pod: 'bitpin-app-a', owner_kind: 'ReplicaSet', owner_name: 'bitpin-app-5d9', owner_is_controller: 'true' }, '1x30'),
      ],
      alert_rule_test: [silent('KubePodNotReady', '30m')],
    },
    {
      name: 'KubeDeploymentReplicasMismatch: 2 of 3 available without rollout progress for 15m',
      input_series: [
        ksm('kube_deployment_spec_replicas', { deployment: 'bitpin-app' }, '3x40'),
        ksm('kube_deployment_status_replicas_available', { deployment: 'bitpin-app' }, '3 3 2x40'),
        ksm('kube_deployment_status_replicas_updated', { deployment: 'bitpin-app' }, '3x42'),
      ],
      alert_rule_test: [
        silent('KubeDeploymentReplicasMismatch', '16m'),
        firing(
          'KubeDeploymentReplicasMismatch',
          '17m',
          r.fired('KubeDeploymentReplicasMismatch', 'warning', { namespace: ns, deployment: 'bitpin-app' }, {
            summary: `Deployment ${ns}/bitpin-app lacks available replicas`,
            description: `Deployment ${ns}/bitpin-app has had fewer available replicas than desired for 15 minutes, without rollout progress.`,
          }),
        ),
      ],
    },
    {
      name: 'KubeDeploymentReplicasMismatch: a rollout that progresses stays silent',
      input_series: [
        ksm('kube_deployment_spec_replicas', { deployment: 'bitpin-app' }, '3x40'),
        ksm('kube_deployment_status_replicas_available', { deployment: 'bitpin-app' }, '2x40'),
        ksm('kube_deployment_status_replicas_updated', { deployment: 'bitpin-app' }, '0 1 1 2 2 3 3 0 1 1 2 2 3 3 0 1 1 2 2 3 3 0 1 1 2 2 3 3 0 1 1 2 2 3 3 0 1 1 2 2 3'),
      ],
      alert_rule_test: [silent('KubeDeploymentReplicasMismatch', '40m')],
    },
    {
      name: 'KubeDeploymentRolloutStuck: Progressing=False for 15m',
      input_series: [
        ksm('kube_deployment_status_condition', { deployment: 'bitpin-app', condition: 'Progressing', status: 'false' }, '0 0 1x30'),
        ksm('kube_deployment_status_condition', { deployment: 'bitpin-app', condition: 'Progressing', status: 'true' }, '1 1 0x30'),
      ],
      alert_rule_test: [
        silent('KubeDeploymentRolloutStuck', '16m'),
        firing(
          'KubeDeploymentRolloutStuck',
          '17m',
          r.fired('KubeDeploymentRolloutStuck', 'warning', { namespace: ns, deployment: 'bitpin-app' }, {
            summary: `Rollout of ${ns}/bitpin-app is stuck`,
            description: `Deployment ${ns}/bitpin-app reports Progressing=False (progress deadline exceeded) for 15 minutes.`,
          }),
        ),
      ],
    },
    {
      name: 'KubeDeploymentRolloutStuck: Progressing=True stays silent',
      input_series: [ksm('kube_deployment_status_condition', { deployment: 'bitpin-app', condition: 'Progressing', status: 'false' }, '0x30')],
      alert_rule_test: [silent('KubeDeploymentRolloutStuck', '30m')],
    },
    {
      name: 'KubeStatefulSetReplicasMismatch: Loki not ready for 15m',
      input_series: [
        series('kube_statefulset_replicas', { job: 'kube-state-metrics', namespace: 'logging', statefulset: 'loki' }, '1x32'),
        series('kube_statefulset_status_replicas_ready', { job: 'kube-state-metrics', namespace: 'logging', statefulset: 'loki' }, '1 1 0x30'),
        series('kube_statefulset_status_replicas_updated', { job: 'kube-state-metrics', namespace: 'logging', statefulset: 'loki' }, '1x32'),
      ],
      alert_rule_test: [
        silent('KubeStatefulSetReplicasMismatch', '16m'),
        firing(
          'KubeStatefulSetReplicasMismatch',
          '17m',
          r.fired('KubeStatefulSetReplicasMismatch', 'warning', { namespace: 'logging', statefulset: 'loki' }, {
            summary: 'StatefulSet logging/loki lacks ready replicas',
            description: 'StatefulSet logging/loki has had a different number of ready replicas than desired for 15 minutes, without rollout progress.',
          }),
        ),
      ],
    },
    {
      name: 'KubeStatefulSetReplicasMismatch: ready StatefulSet stays silent',
      input_series: [
        series('kube_statefulset_replicas', { job: 'kube-state-metrics', namespace: 'logging', statefulset: 'loki' }, '1x30'),
        series('kube_statefulset_status_replicas_ready', { job: 'kube-state-metrics', namespace: 'logging', statefulset: 'loki' }, '1x30'),
        series('kube_statefulset_status_replicas_updated', { job: 'kube-state-metrics', namespace: 'logging', statefulset: 'loki' }, '1x30'),
      ],
      alert_rule_test: [silent('KubeStatefulSetReplicasMismatch', '30m')],
    },
    {
      name: 'KubeDaemonSetNotReady: one node-exporter pod not ready for 15m',
      input_series: [
        series('kube_daemonset_status_desired_number_scheduled', { job: 'kube-state-metrics', namespace: 'monitoring', daemonset: 'node-exporter' }, '3x32'),
        series('kube_daemonset_status_number_ready', { job: 'kube-state-metrics', namespace: 'monitoring', daemonset: 'node-exporter' }, '3 3 2x30'),
      ],
      alert_rule_test: [
        silent('KubeDaemonSetNotReady', '16m'),
        firing(
          'KubeDaemonSetNotReady',
          '17m',
          r.fired('KubeDaemonSetNotReady', 'warning', { namespace: 'monitoring', daemonset: 'node-exporter' }, {
            summary: '1 pod(s) of DaemonSet monitoring/node-exporter are not ready',
            description:
              'DaemonSet monitoring/node-exporter has had pods that are not ready for 15 minutes: nodes without them lose metrics (node-exporter) or logs (log agent).',
          }),
        ),
      ],
    },
    {
      name: 'KubeDaemonSetNotReady: all ready stays silent',
      input_series: [
        series('kube_daemonset_status_desired_number_scheduled', { job: 'kube-state-metrics', namespace: 'monitoring', daemonset: 'node-exporter' }, '3x30'),
        series('kube_daemonset_status_number_ready', { job: 'kube-state-metrics', namespace: 'monitoring', daemonset: 'node-exporter' }, '3x30'),
      ],
      alert_rule_test: [silent('KubeDaemonSetNotReady', '30m')],
    },
    {
      name: 'KubeHpaMaxedOut: at maxReplicas for 15m',
      input_series: [
        ksm('kube_horizontalpodautoscaler_status_current_replicas', { horizontalpodautoscaler: 'bitpin-app' }, '3 3 10x30'),
        ksm('kube_horizontalpodautoscaler_spec_max_replicas', { horizontalpodautoscaler: 'bitpin-app' }, '10x32'),
        ksm('kube_horizontalpodautoscaler_spec_min_replicas', { horizontalpodautoscaler: 'bitpin-app' }, '3x32'),
      ],
      alert_rule_test: [
        silent('KubeHpaMaxedOut', '16m'),
        firing(
          'KubeHpaMaxedOut',
          '17m',
          r.fired('KubeHpaMaxedOut', 'warning', { namespace: ns, horizontalpodautoscaler: 'bitpin-app' }, {
            summary: `HPA ${ns}/bitpin-app has been at its maximum for 15 minutes`,
            description: `HPA ${ns}/bitpin-app runs at maxReplicas (10) and cannot add capacity.`,
          }),
        ),
      ],
    },
    {
      name: 'KubeHpaMaxedOut: below max, or a fixed-size HPA (min = max), stays silent',
      input_series: [
        ksm('kube_horizontalpodautoscaler_status_current_replicas', { horizontalpodautoscaler: 'bitpin-app' }, '5x30'),
        ksm('kube_horizontalpodautoscaler_spec_max_replicas', { horizontalpodautoscaler: 'bitpin-app' }, '10x30'),
        ksm('kube_horizontalpodautoscaler_spec_min_replicas', { horizontalpodautoscaler: 'bitpin-app' }, '3x30'),
        ksm('kube_horizontalpodautoscaler_status_current_replicas', { horizontalpodautoscaler: 'fixed' }, '2x30'),
        ksm('kube_horizontalpodautoscaler_spec_max_replicas', { horizontalpodautoscaler: 'fixed' }, '2x30'),
        ksm('kube_horizontalpodautoscaler_spec_min_replicas', { horizontalpodautoscaler: 'fixed' }, '2x30'),
      ],
      alert_rule_test: [silent('KubeHpaMaxedOut', '30m')],
    },
    {
      name: 'KubePersistentVolumeFillingUp: under 3% free pages after 1m',
      input_series: [
        kubelet('kubelet_volume_stats_capacity_bytes', 'storage-prometheus-0', '100x10'),
        kubelet('kubelet_volume_stats_available_bytes', 'storage-prometheus-0', '50 50 2x10'),
        kubelet('kubelet_volume_stats_used_bytes', 'storage-prometheus-0', '50 50 98x10'),
      ],
      alert_rule_test: [
        silent('KubePersistentVolumeFillingUp', '2m'),
        firing(
          'KubePersistentVolumeFillingUp',
          '3m',
          r.fired('KubePersistentVolumeFillingUp', 'critical', { namespace: 'monitoring', persistentvolumeclaim: 'storage-prometheus-0' }, {
            summary: 'Volume monitoring/storage-prometheus-0 has 2% free',
            description: 'PersistentVolumeClaim monitoring/storage-prometheus-0 has less than 3% free space.',
          }),
        ),
      ],
    },
    {
      name: 'KubePersistentVolumeFillingUp: 14% free and shrinking warns after 1h',
      input_series: [
        kubelet('kubelet_volume_stats_capacity_bytes', 'storage-loki-0', '100x70', 'logging'),
        kubelet('kubelet_volume_stats_available_bytes', 'storage-loki-0', '14-0.01x70', 'logging'),
        kubelet('kubelet_volume_stats_used_bytes', 'storage-loki-0', '86+0.01x70', 'logging'),
      ],
      alert_rule_test: [
        silent('KubePersistentVolumeFillingUp', '60m'),
        firing(
          'KubePersistentVolumeFillingUp',
          '61m',
          r.fired('KubePersistentVolumeFillingUp', 'warning', { namespace: 'logging', persistentvolumeclaim: 'storage-loki-0' }, {
            summary: 'Volume logging/storage-loki-0 is predicted to fill within 4 days',
            description: 'PersistentVolumeClaim logging/storage-loki-0 has 13.39% free and, at the growth of the last 6 hours, is full within 4 days.',
          }),
        ),
      ],
    },
    {
      name: 'KubePersistentVolumeFillingUp: 14% free but not growing, or outside the platform namespaces, stays silent',
      input_series: [
        kubelet('kubelet_volume_stats_capacity_bytes', 'storage-loki-0', '100x70', 'logging'),
        kubelet('kubelet_volume_stats_available_bytes', 'storage-loki-0', '14x70', 'logging'),
        kubelet('kubelet_volume_stats_used_bytes', 'storage-loki-0', '86x70', 'logging'),
        kubelet('kubelet_volume_stats_capacity_bytes', 'data', '100x70', 'someone-else'),
        kubelet('kubelet_volume_stats_available_bytes', 'data', '1x70', 'someone-else'),
        kubelet('kubelet_volume_stats_used_bytes', 'data', '99x70', 'someone-else'),
      ],
      alert_rule_test: [silent('KubePersistentVolumeFillingUp', '70m')],
    },
    {
      name: 'KubePodCrashLooping carries the node of its pod (kube_pod_info), for the node-down inhibition',
      input_series: [
        ksm('kube_pod_container_status_waiting_reason', { pod: 'bitpin-app-a', container: 'app', reason: 'CrashLoopBackOff' }, '1x20'),
        ksm('kube_pod_info', { pod: 'bitpin-app-a', node: 'node-2', uid: 'u1', pod_ip: '10.1.0.5' }, '1x20'),
      ],
      alert_rule_test: [
        firing('KubePodCrashLooping', '16m', expanded(r, 'KubePodCrashLooping', 'warning', { namespace: ns, pod: 'bitpin-app-a', container: 'app', node: 'node-2' })),
      ],
    },
    {
      name: 'KubeNodeNotReady: Ready=false for 2m',
      input_series: [
        series('kube_node_status_condition', { job: 'kube-state-metrics', node: 'node-2', condition: 'Ready', status: 'true' }, '1 0x10'),
        series('kube_node_status_condition', { job: 'kube-state-metrics', node: 'node-1', condition: 'Ready', status: 'true' }, '1x11'),
      ],
      alert_rule_test: [
        silent('KubeNodeNotReady', '2m'),
        firing('KubeNodeNotReady', '3m', expanded(r, 'KubeNodeNotReady', 'critical', { node: 'node-2' })),
      ],
    },
    {
      name: 'KubeNodeNotReady: a 1-minute readiness blip stays quiet',
      input_series: [series('kube_node_status_condition', { job: 'kube-state-metrics', node: 'node-2', condition: 'Ready', status: 'true' }, '1 1 0 1x10')],
      alert_rule_test: [silent('KubeNodeNotReady', '3m'), silent('KubeNodeNotReady', '10m')],
    },
    {
      name: 'KubePersistentVolumeInodesFillingUp: 2% inodes free pages after 1m; 10% free and falling warns after 1h',
      input_series: [
        kubelet('kubelet_volume_stats_inodes_free', 'loki-0', '2000x70', 'logging'),
        kubelet('kubelet_volume_stats_inodes', 'loki-0', '100000x70', 'logging'),
        kubelet('kubelet_volume_stats_inodes_used', 'loki-0', '98000x70', 'logging'),
        kubelet('kubelet_volume_stats_inodes_free', 'bitpin-backup', '10000-100x70', ns),
        kubelet('kubelet_volume_stats_inodes', 'bitpin-backup', '100000x70', ns),
        kubelet('kubelet_volume_stats_inodes_used', 'bitpin-backup', '90000+100x70', ns),
      ],
      alert_rule_test: [
        firing(
          'KubePersistentVolumeInodesFillingUp',
          '1m',
          expanded(r, 'KubePersistentVolumeInodesFillingUp', 'critical', { namespace: 'logging', persistentvolumeclaim: 'loki-0' }, '2%'),
        ),
        firing(
          'KubePersistentVolumeInodesFillingUp',
          '61m',
          expanded(r, 'KubePersistentVolumeInodesFillingUp', 'critical', { namespace: 'logging', persistentvolumeclaim: 'loki-0' }, '2%'),
          expanded(r, 'KubePersistentVolumeInodesFillingUp', 'warning', { namespace: ns, persistentvolumeclaim: 'bitpin-backup' }, '3.9%'),
        ),
      ],
    },
    {
      name: 'KubePersistentVolumeInodesFillingUp: 10% inodes free but stable stays quiet',
      input_series: [
        kubelet('kubelet_volume_stats_inodes_free', 'bitpin-backup', '10000x70', ns),
        kubelet('kubelet_volume_stats_inodes', 'bitpin-backup', '100000x70', ns),
        kubelet('kubelet_volume_stats_inodes_used', 'bitpin-backup', '90000x70', ns),
      ],
      alert_rule_test: [silent('KubePersistentVolumeInodesFillingUp', '70m')],
    },
    {
      name: 'ResourceQuota: 95% of pods is info, 100% of cpu and 110% of memory are warnings',
      input_series: [
        ksm('kube_resourcequota', { resourcequota: 'platform', resource: 'pods', type: 'used' }, '19x20'),
        ksm('kube_resourcequota', { resourcequota: 'platform', resource: 'pods', type: 'hard' }, '20x20'),
        ksm('kube_resourcequota', { resourcequota: 'platform', resource: 'requests.cpu', type: 'used' }, '4x20'),
        ksm('kube_resourcequota', { resourcequota: 'platform', resource: 'requests.cpu', type: 'hard' }, '4x20'),
        ksm('kube_resourcequota', { resourcequota: 'platform', resource: 'requests.memory', type: 'used' }, '11x20'),
        ksm('kube_resourcequota', { resourcequota: 'platform', resource: 'requests.memory', type: 'hard' }, '10x20'),
      ],
      alert_rule_test: [
        silent('KubeQuotaAlmostFull', '14m'),
        firing('KubeQuotaAlmostFull', '15m', expanded(r, 'KubeQuotaAlmostFull', 'info', { namespace: ns, resourcequota: 'platform', resource: 'pods' }, '95%')),
        firing('KubeQuotaFullyUsed', '15m', expanded(r, 'KubeQuotaFullyUsed', 'warning', { namespace: ns, resourcequota: 'platform', resource: 'requests.cpu' })),
        firing('KubeQuotaExceeded', '15m', expanded(r, 'KubeQuotaExceeded', 'warning', { namespace: ns, resourcequota: 'platform', resource: 'requests.memory' })),
      ],
    },
    {
      name: 'ResourceQuota: 50% used and a quota without a hard limit stay quiet',
      input_series: [
        ksm('kube_resourcequota', { resourcequota: 'platform', resource: 'pods', type: 'used' }, '10x20'),
        ksm('kube_resourcequota', { resourcequota: 'platform', resource: 'pods', type: 'hard' }, '20x20'),
        ksm('kube_resourcequota', { resourcequota: 'platform', resource: 'services', type: 'used' }, '3x20'),
        ksm('kube_resourcequota', { resourcequota: 'platform', resource: 'services', type: 'hard' }, '0x20'),
      ],
      alert_rule_test: [silent('KubeQuotaAlmostFull', '20m'), silent('KubeQuotaFullyUsed', '20m'), silent('KubeQuotaExceeded', '20m')],
    },
    {
      name: 'PodDisruptionBudget: 1 of 3 app pods unhealthy with minAvailable 2 is at its limit; with minAvailable 3 it lacks a pod',
      input_series: [
        ...(
          [
            ['bitpin-app', 2, 2, 0, 3],
            ['loki', 1, 0, 0, 1],
          ] as const
        ).flatMap(([pdb, desired, current, allowed, expected]) => [
          ksm('kube_poddisruptionbudget_status_desired_healthy', { poddisruptionbudget: pdb }, `${desired}x20`),
          ksm('kube_poddisruptionbudget_status_current_healthy', { poddisruptionbudget: pdb }, `${current}x20`),
          ksm('kube_poddisruptionbudget_status_pod_disruptions_allowed', { poddisruptionbudget: pdb }, `${allowed}x20`),
          ksm('kube_poddisruptionbudget_status_expected_pods', { poddisruptionbudget: pdb }, `${expected}x20`),
        ]),
      ],
      alert_rule_test: [
        silent('KubePdbAtLimit', '14m'),
        firing('KubePdbAtLimit', '15m', expanded(r, 'KubePdbAtLimit', 'warning', { namespace: ns, poddisruptionbudget: 'bitpin-app' })),
        firing('KubePdbNotEnoughHealthyPods', '15m', expanded(r, 'KubePdbNotEnoughHealthyPods', 'warning', { namespace: ns, poddisruptionbudget: 'loki' }, '1')),
      ],
    },
    {
      name: 'PodDisruptionBudget: a single-pod PDB that allows no disruption by design (the CNPG primary) and a healthy one stay quiet',
      input_series: [
        ...(
          [
            ['bitpin-cluster-primary', 1, 1, 0, 1],
            ['bitpin-app', 2, 3, 1, 3],
          ] as const
        ).flatMap(([pdb, desired, current, allowed, expected]) => [
          ksm('kube_poddisruptionbudget_status_desired_healthy', { poddisruptionbudget: pdb }, `${desired}x20`),
          ksm('kube_poddisruptionbudget_status_current_healthy', { poddisruptionbudget: pdb }, `${current}x20`),
          ksm('kube_poddisruptionbudget_status_pod_disruptions_allowed', { poddisruptionbudget: pdb }, `${allowed}x20`),
          ksm('kube_poddisruptionbudget_status_expected_pods', { poddisruptionbudget: pdb }, `${expected}x20`),
        ]),
      ],
      alert_rule_test: [silent('KubePdbAtLimit', '20m'), silent('KubePdbNotEnoughHealthyPods', '20m')],
    },
  ];
}
