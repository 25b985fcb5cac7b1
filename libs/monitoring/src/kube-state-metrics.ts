import { httpProbe, restrictedContainerSecurity, restrictedPodSecurity, toResourceRequirements, type PlatformChart } from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { monitoringMeta, podSelector, portName } from './common.js';
import { MONITORING } from './names.js';

export interface KubeStateMetricsProps {
  /**
   * Pod labels exported on `kube_pod_labels` (kube-state-metrics exports none by default), so
   * dashboards can join pod series to the workload that owns them.
   * @default ['app', 'app.kubernetes.io/name', 'cnpg.io/cluster']
   */
  readonly podLabels?: readonly string[];
}

/**
 * API group → resources kube-state-metrics watches (list + watch only). Secrets and ConfigMaps are
 * left out on purpose: listing them returns their data, and no rule or dashboard needs them.
 */
export const KUBE_STATE_METRICS_RESOURCES: Readonly<Record<string, readonly string[]>> = {
  '': [
    'limitranges',
    'namespaces',
    'nodes',
    'persistentvolumeclaims',
    'persistentvolumes',
    'pods',
    'replicationcontrollers',
    'resourcequotas',
    'services',
  ],
  apps: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'],
  batch: ['cronjobs', 'jobs'],
  autoscaling: ['horizontalpodautoscalers'],
  policy: ['poddisruptionbudgets'],
  'networking.k8s.io': ['ingresses', 'networkpolicies'],
  'storage.k8s.io': ['storageclasses', 'volumeattachments'],
  'coordination.k8s.io': ['leases'],
  'certificates.k8s.io': ['certificatesigningrequests'],
  'admissionregistration.k8s.io': ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
};

const K = MONITORING.kubeStateMetrics;

/**
 * kube-state-metrics as a one-replica Deployment with a read-only ClusterRole over exactly the
 * resources it is told to export (`--resources`), metrics on 8080 (`http-metrics`) and its own
 * telemetry on 8081 (`telemetry`), both scraped as job `kube-state-metrics`.
 */
export class KubeStateMetrics extends Construct {
  readonly name: string = K.name;
  readonly namespace: string = MONITORING.namespace;
  readonly resources: readonly string[];

  constructor(scope: PlatformChart, id: string, props: KubeStateMetricsProps = {}) {
    super(scope, id);
    const env = scope.env;
    const podLabels = props.podLabels ?? ['app', 'app.kubernetes.io/name', 'cnpg.io/cluster'];
    for (const l of podLabels) {
      if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(l)) {
        throw new Error(`KubeStateMetrics: 'podLabels' entry ${JSON.stringify(l)} is not a Kubernetes label key`);
      }
    }
    this.resources = Object.values(KUBE_STATE_METRICS_RESOURCES).flat().sort();
    const meta = () => monitoringMeta(env, this.name, 'metrics');
    const clusterMeta = () => ({ ...meta(), namespace: undefined, name: `${MONITORING.namespace}-${this.name}` });
    const selector = podSelector(this.name);

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta() });
    new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: clusterMeta(),
      rules: Object.entries(KUBE_STATE_METRICS_RESOURCES).map(([group, resources]) => ({
        apiGroups: [group],
        resources: [...resources],
        verbs: ['list', 'watch'],
      })),
    });
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: clusterMeta(),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterMeta().name },
      subjects: [{ kind: 'ServiceAccount', name: this.name, namespace: this.namespace }],
    });

    new k8s.KubeService(this, 'Service', {
      metadata: meta(),
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [
          { name: 'http-metrics', port: K.port, targetPort: portName('http-metrics'), protocol: 'TCP' },
          { name: 'telemetry', port: K.telemetryPort, targetPort: portName('telemetry'), protocol: 'TCP' },
        ],
      },
    });

    const labels = meta().labels ?? {};
    new k8s.KubeDeployment(this, 'Resource', {
      metadata: meta(),
      spec: {
        replicas: 1,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: this.name,
            automountServiceAccountToken: true,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity({ runAsUser: MONITORING.nobody }),
            containers: [
              {
                name: 'kube-state-metrics',
                image: env.images.kubeStateMetrics,
                imagePullPolicy: 'IfNotPresent',
                args: [
                  `--port=${K.port}`,
                  `--telemetry-port=${K.telemetryPort}`,
                  `--resources=${this.resources.join(',')}`,
                  `--metric-labels-allowlist=pods=[${podLabels.join(',')}]`,
                ],
                ports: [
                  { name: 'http-metrics', containerPort: K.port, protocol: 'TCP' },
                  { name: 'telemetry', containerPort: K.telemetryPort, protocol: 'TCP' },
                ],
                // /healthz answers while the process serves; /livez would restart it whenever the
                // API server is unreachable, which a restart cannot fix.
                livenessProbe: httpProbe({ path: '/healthz', port: 'http-metrics', initialDelaySeconds: 5, periodSeconds: 15 }),
                // Ready once its own registry has metrics.

                readinessProbe: httpProbe({ path: '/readyz', port: 'telemetry', initialDelaySeconds: 5, periodSeconds: 10 }),
                resources: toResourceRequirements(env.monitoring.kubeStateMetrics.resources),
                securityContext: restrictedContainerSecurity({ runAsUser: MONITORING.nobody }),
                terminationMessagePolicy: 'FallbackToLogsOnError',
              },
            ],
          },
        },
      },
    });
  }
}
