import { httpProbe, policyExceptions, restrictedContainerSecurity, toResourceRequirements, type PlatformChart } from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { monitoringMeta, podSelector } from './common.js';
import { MONITORING } from './names.js';

export interface NodeExporterProps {
  /**
   * Filesystems node-exporter ignores (a regex of mount points): container and kubelet internals
   * that would otherwise show up once per pod.
   * @default '^/(dev|proc|sys|run/containerd/.+|var/lib/docker/.+|var/lib/kubelet/.+|var/lib/containerd/.+)($|/)'
   */
  readonly mountPointsExclude?: string;
}

/**
 * node-exporter as a DaemonSet on every node (it tolerates every taint) on the host network and
 * PID namespace, port 9100 on each node, with the host's /proc, /sys and / mounted read-only. It
 * runs as `nobody` with no capabilities; the namespace still has to allow `privileged` pods,
 * because host namespaces and hostPath volumes are outside the baseline Pod Security Standard.
 */
export class NodeExporter extends Construct {
  readonly name: string = MONITORING.nodeExporter.name;
  readonly namespace: string = MONITORING.namespace;
  readonly port: number;

  constructor(scope: PlatformChart, id: string, props: NodeExporterProps = {}) {
    super(scope, id);
    const env = scope.env;
    const cfg = env.monitoring.nodeExporter;
    this.port = cfg.port;
    const exclude =
      props.mountPointsExclude ??
      '^/(dev|proc|sys|run/containerd/.+|var/lib/docker/.+|var/lib/kubelet/.+|var/lib/containerd/.+)($|/)';
    try {
      new RegExp(exclude);
    } catch {
      throw new Error(`NodeExporter: 'mountPointsExclude' (${JSON.stringify(exclude)}) must be a valid regular expression`);
    }
    const meta = () => monitoringMeta(env, this.name, 'metrics');
    const selector = podSelector(this.name);
    const labels = meta().labels ?? {};
    // Virtual interfaces of pods: one per pod, no information about the node.
    const virtualDevices = '^(veth.*|cali.*|cni.*|flannel.*|lxc.*|[a-f0-9]{15})$';

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(), automountServiceAccountToken: false });

    new k8s.KubeDaemonSet(this, 'Resource', {
      metadata: {
        ...meta(),
        annotations: policyExceptions({
          'no-host-namespaces':
            "hostNetwork: the node's own interfaces and addresses are what it reports; hostPID: /proc of the host, not of the pod",
          'no-host-path': 'reads the host through read-only mounts of /proc, /sys and / (filesystem, disk and mount metrics)',
        }),
      },
      spec: {
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromString('10%') } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: this.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            hostNetwork: true,
            hostPid: true,
            dnsPolicy: 'ClusterFirstWithHostNet',
            tolerations: [{ operator: 'Exists' }],
            securityContext: {
              runAsNonRoot: true,
              runAsUser: MONITORING.nobody,
              runAsGroup: MONITORING.nobody,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'node-exporter',
                image: env.images.nodeExporter,
                imagePullPolicy: 'IfNotPresent',
                args: [
                  `--web.listen-address=:${this.port}`,
                  '--path.procfs=/host/proc',
                  '--path.sysfs=/host/sys',
                  '--path.rootfs=/host/root',
                  '--path.udev.data=/host/root/run/udev/data',
                  '--no-collector.wifi',
                  '--no-collector.hwmon',
                  `--collector.filesystem.mount-points-exclude=${exclude}`,
                  `--collector.netclass.ignored-devices=${virtualDevices}`,
                  `--collector.netdev.device-exclude=${virtualDevices}`,
                ],
                ports: [{ name: 'metrics', containerPort: this.port, hostPort: this.port, protocol: 'TCP' }],
                readinessProbe: httpProbe({ path: '/', port: 'metrics', periodSeconds: 10 }),
                livenessProbe: httpProbe({ path: '/', port: 'metrics', periodSeconds: 20, failureThreshold: 4 }),
                resources: toResourceRequirements(cfg.resources),
                securityContext: restrictedContainerSecurity({ runAsUser: MONITORING.nobody }),
                volumeMounts: [
                  { name: 'proc', mountPath: '/host/proc', readOnly: true },
                  { name: 'sys', mountPath: '/host/sys', readOnly: true },
                  // HostToContainer: mounts made on the host later (new volumes) become visible.
                  { name: 'root', mountPath: '/host/root', readOnly: true, mountPropagation: 'HostToContainer' },
                ],
                terminationMessagePolicy: 'FallbackToLogsOnError',
              },
            ],
            volumes: [
              { name: 'proc', hostPath: { path: '/proc' } },
              { name: 'sys', hostPath: { path: '/sys' } },
              { name: 'root', hostPath: { path: '/' } },
            ],
          },
        },
      },
    });
  }
}
