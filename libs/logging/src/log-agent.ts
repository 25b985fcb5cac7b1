import { SEED, toYaml } from '@bitpin/config';
import { httpProbe, policyExceptions, selectorLabels, standardLabels, toResourceRequirements, type PlatformChart } from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { ALLOY_CONFIG_DIR, ALLOY_CONFIG_FILE, ALLOY_PORT, ALLOY_STORAGE_DIR, alloyConfig } from './alloy-config.js';
import { SCRAPE_JOB_LABEL } from './loki.js';
import { POD_LOGS_DIR } from './pod-logs.js';
import {
  PROMTAIL_CONFIG_DIR,
  PROMTAIL_CONFIG_FILE,
  PROMTAIL_PORT,
  PROMTAIL_POSITIONS_DIR,
  promtailConfig,
} from './promtail-config.js';
import { contentHash, scrapeAnnotations } from './render.js';
import { CONTAINER_LOGS_DIR, VLAGENT_PORT, VLAGENT_STATE_DIR, vlagentArgs } from './vlagent-config.js';

export type LogAgentKind = 'promtail' | 'alloy' | 'vlagent';

export interface LogAgentProps {
  /**
   * Also mount `/var/lib/docker/containers` read-only: needed only on nodes whose runtime is
   * Docker (cri-dockerd), where the files under /var/log/pods are symlinks into it.
   * @default false
   */
  readonly mountDockerContainers?: boolean;
  /**
   * Tolerations of the DaemonSet. The default runs it on every node, tainted or not, so no
   * pod's logs are missed.
   * @default - tolerate every taint
   */
  readonly tolerations?: readonly k8s.Toleration[];
}

/** What differs between the two agents; everything else is shared. */
interface AgentSpec {
  readonly image: string;
  readonly port: number;
  readonly readyPath: string;
  /** Where the ConfigMap is mounted; absent for vlagent, whose flags are its whole config. */
  readonly configDir?: string;
  readonly configFile?: string;
  readonly configText: string;
  readonly args: string[];
  /** Host directory the agent keeps its read positions in (a hostPath). */
  readonly stateDir: string;
}

/**
 * The log agent: a DaemonSet in namespace `logging` that tails every pod's logs on its node
 * from `/var/log/pods` (read-only hostPath) and pushes them to the store. `logging.agent` picks
 * the binary: `promtail` (the seed's; EOL 2026-03-02, no more fixes) or `alloy` (its successor),
 * both configured from one relabel table (labels namespace, pod, container, app, node_name) with
 * CRI parsing and pushing Loki's API (to Loki or VictoriaLogs); or `vlagent` (VictoriaLogs only),
 * configured by flags ({@link vlagentArgs}), which also mounts /var/log/containers (the kubelet's
 * symlinks it opens). The read positions live on a hostPath so a restarted agent neither re-sends
 * nor skips lines.
 *
 * RBAC: a ClusterRole that may only get/list/watch pods (the discovery is filtered to the agent's
 * own node); vlagent also namespaces and nodes (the metadata it adds, its own node's name). The agent runs as root with every capability dropped and a read-only root
 * filesystem: kubelet writes pod logs as root with mode 0640, and the namespace is `privileged`
 * because Pod Security's baseline level forbids hostPath volumes.
 */
export class LogAgent extends Construct {
  readonly kind: LogAgentKind;
  readonly name: string;
  readonly namespace: string = SEED.namespaces.logging;
  readonly port: number;
  /** The config file the agent runs (Promtail YAML or Alloy syntax). */
  readonly configText: string;
  readonly clusterRoleName: string;

  constructor(scope: PlatformChart, id: string, props: LogAgentProps = {}) {
    super(scope, id);
    const env = scope.env;
    this.kind = env.logging.agent;
    this.name = this.kind;
    this.clusterRoleName = `${this.namespace}-${this.name}`;

    const spec: AgentSpec =
      this.kind === 'vlagent'
        ? {
            image: env.images.vlagent,
            port: VLAGENT_PORT,
            readyPath: '/health',
            configText: vlagentArgs(env).join('\n'),
            args: vlagentArgs(env),
            stateDir: VLAGENT_STATE_DIR,
          }
        : this.kind === 'promtail'
        ? {
            image: env.images.promtail,
            port: PROMTAIL_PORT,
            readyPath: '/ready',
            configDir: PROMTAIL_CONFIG_DIR,
            configFile: PROMTAIL_CONFIG_FILE,
            configText: toYaml(promtailConfig(env)),
            args: [`-config.file=${PROMTAIL_CONFIG_DIR}/${PROMTAIL_CONFIG_FILE}`, '-config.expand-env=true'],
            stateDir: PROMTAIL_POSITIONS_DIR,
          }
        : {
            image: env.images.alloy,
            port: ALLOY_PORT,
            readyPath: '/-/ready',
            configDir: ALLOY_CONFIG_DIR,
            configFile: ALLOY_CONFIG_FILE,
            configText: alloyConfig(env),
            args: [
              'run',
              `${ALLOY_CONFIG_DIR}/${ALLOY_CONFIG_FILE}`,
              `--storage.path=${ALLOY_STORAGE_DIR}`,
              `--server.http.listen-addr=0.0.0.0:${ALLOY_PORT}`,
              '--stability.level=generally-available',
              '--disable-reporting',
            ],
            stateDir: ALLOY_STORAGE_DIR,
          };
    this.port = spec.port;
    this.configText = spec.configText;

    const labels = standardLabels(env, { name: this.name, component: 'logging' });
    const selector = selectorLabels({ name: this.name });
    const meta = (name: string) => ({ name, namespace: this.namespace, labels });

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(this.name) });
    // vlagent also reads its own node (labels) and the namespaces (metadata of every line).
    const resources = this.kind === 'vlagent' ? ['pods', 'namespaces', 'nodes'] : ['pods'];
    new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { name: this.clusterRoleName, labels },
      rules: [{ apiGroups: [''], resources, verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: this.clusterRoleName, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: this.clusterRoleName },
      subjects: [{ kind: 'ServiceAccount', name: this.name, namespace: this.namespace }],
    });
    const mounts: k8s.VolumeMount[] = [];
    const volumes: k8s.Volume[] = [];
    if (spec.configDir && spec.configFile) {
      new k8s.KubeConfigMap(this, 'Config', { metadata: meta(this.name), data: { [spec.configFile]: spec.configText } });
      mounts.push({ name: 'config', mountPath: spec.configDir, readOnly: true });
      volumes.push({ name: 'config', configMap: { name: this.name } });
    }
    mounts.push({ name: 'pods', mountPath: POD_LOGS_DIR, readOnly: true });
    volumes.push({ name: 'pods', hostPath: { path: POD_LOGS_DIR, type: 'Directory' } });
    if (this.kind === 'vlagent') {
      // vlagent opens the kubelet's symlinks here; they point into /var/log/pods.
      mounts.push({ name: 'containers', mountPath: CONTAINER_LOGS_DIR, readOnly: true });
      volumes.push({ name: 'containers', hostPath: { path: CONTAINER_LOGS_DIR, type: 'Directory' } });
    }
    mounts.push({ name: 'state', mountPath: spec.stateDir }, { name: 'tmp', mountPath: '/tmp' });
    volumes.push(
      { name: 'state', hostPath: { path: spec.stateDir, type: 'DirectoryOrCreate' } },
      { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
    );
    if (props.mountDockerContainers ?? false) {
      mounts.push({ name: 'docker', mountPath: '/var/lib/docker/containers', readOnly: true });
      volumes.push({ name: 'docker', hostPath: { path: '/var/lib/docker/containers', type: 'Directory' } });
    }

    const agent: k8s.Container = {
      name: this.name,
      image: spec.image,
      imagePullPolicy: 'IfNotPresent',
      args: spec.args,
      // Promtail expands ${HOSTNAME} in its node field selector; vlagent finds its node from its own pod (the hostname).
      ...(this.kind === 'vlagent' ? {} : { env: [{ name: 'HOSTNAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }] }),
      ports: [{ name: 'http-metrics', containerPort: spec.port, protocol: 'TCP' }],
      readinessProbe: httpProbe({ path: spec.readyPath, port: 'http-metrics', initialDelaySeconds: 5, periodSeconds: 10 }),
      livenessProbe: httpProbe({ path: spec.readyPath, port: 'http-metrics', initialDelaySeconds: 30, periodSeconds: 30, failureThreshold: 5 }),
      resources: toResourceRequirements(env.logging.agentResources),
      securityContext: {
        // Root only to read the kubelet's root-owned 0640 log files; no capability, no escalation.
        runAsUser: 0,
        runAsGroup: 0,
        runAsNonRoot: false,
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
      volumeMounts: mounts,
      terminationMessagePolicy: 'FallbackToLogsOnError',
    };

    new k8s.KubeDaemonSet(this, 'Resource', {
      metadata: {
        ...meta(this.name),
        annotations: policyExceptions({
          'run-as-non-root': "reads the kubelet's root-owned 0640 files under /var/log/pods as UID 0 (no capability, no escalation)",
          'no-host-path': 'tails /var/log/pods (read-only) and keeps its read positions in a host directory across restarts',
        }),
      },
      spec: {
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } },
        template: {
          metadata: {
            labels: { ...labels, [SCRAPE_JOB_LABEL]: SEED.monitoring.jobs.logAgent },
            annotations: { 'checksum/config': contentHash(spec.configText), ...scrapeAnnotations(spec.port) },
          },
          spec: {
            serviceAccountName: this.name,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 30,
            securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
            tolerations: props.tolerations ? [...props.tolerations] : [{ operator: 'Exists' }],
            containers: [agent],
            volumes,
          },
        },
      },
    });
  }
}
