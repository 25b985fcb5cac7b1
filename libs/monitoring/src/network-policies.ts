import { SEED } from '@bitpin/config';
import {
  PodNetworkPolicy,
  apiServerEgress,
  namespacePeer,
  nodesEgress,
  outsideClusterPeers,
  podsPeer,
  prometheusPeer,
  selectorLabels,
  tcpPorts,
  type FlowRule,
  type PlatformChart,
} from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { MONITORING } from './names.js';

const M = MONITORING;
const ns = SEED.namespaces;
const pods = (name: string) => podsPeer(selectorLabels({ name }));
const named = (...names: string[]): k8s.NetworkPolicyPort[] => names.map((n) => ({ protocol: 'TCP', port: k8s.IntOrString.fromString(n) }));
/** Kubelet's authenticated API (metrics, cAdvisor). */
export const KUBELET_PORT = 10250;

/**
 * NetworkPolicies of the monitoring namespace (`features.networkPolicies`). The namespace denies
 * everything and allows DNS (its PlatformNamespace); these allow exactly who talks to whom:
 * - Prometheus scrapes every metrics port of the platform (the jobs of prometheus-config.ts), the
 *   kubelets and node-exporter on the nodes, and the API server; it sends alerts to Alertmanager.
 * - Alertmanager gossips with its replicas and notifies the receivers outside the cluster (never
 *   a pod, a ClusterIP or a node: their ranges are excepted from the receivers' blocks).
 * - Grafana queries Prometheus, Alertmanager and Loki; people reach it on its port.
 * - kube-state-metrics reads the API server.
 * node-exporter runs on the host network, where NetworkPolicy does not apply.
 */
export class MonitoringNetworkPolicies extends Construct {
  /** Names of the policies created. */
  readonly policies: readonly string[];

  constructor(scope: PlatformChart, id: string) {
    super(scope, id);
    const env = scope.env;
    // The log store the Grafana queries follows logging.backend.
    const victoria = env.logging.backend === 'victorialogs';
    const net = env.features.networkPolicies;
    const names: string[] = [];
    const policy = (cid: string, name: string, description: string, ingress: FlowRule[], egress: FlowRule[]) => {
      names.push(name);
      new PodNetworkPolicy(this, cid, { name, namespace: M.namespace, appName: name, podSelector: selectorLabels({ name }), description, ingress, egress });
    };
    const grafanaPort = env.monitoring.grafana.port;

    policy(
      'Prometheus',
      M.prometheus.name,
      'Grafana and itself → :9090; it → every metrics port, kubelets, node-exporter, API server, Alertmanager',
      [{ peers: [pods(M.grafana.name), pods(M.prometheus.name)], ports: tcpPorts(M.prometheus.port) }],
      [
        { peers: [pods(M.prometheus.name)], ports: tcpPorts(M.prometheus.port) },
        { peers: [pods(M.alertmanager.name)], ports: tcpPorts(M.alertmanager.port) },
        { peers: [pods(M.kubeStateMetrics.name)], ports: tcpPorts(M.kubeStateMetrics.port, M.kubeStateMetrics.telemetryPort) },
        { peers: [pods(M.grafana.name)], ports: tcpPorts(grafanaPort) },
        { peers: [namespacePeer(ns.app, { app: SEED.app.name })], ports: tcpPorts(SEED.sidecar.metricsPort) },
        { peers: [namespacePeer(ns.app, { 'cnpg.io/cluster': SEED.database.clusterName, 'cnpg.io/podRole': 'instance' })], ports: tcpPorts(SEED.database.metricsPort) },
        // The Poolers' PgBouncer pods (database.pooler).
        ...(env.database.pooler.enabled
          ? [{ peers: [namespacePeer(ns.app, { 'cnpg.io/cluster': SEED.database.clusterName, 'cnpg.io/podRole': 'pooler' })], ports: tcpPorts(SEED.database.pooler.metricsPort) }]
          : []),
        // The Redis cache's exporter (libs/cache), where the env runs the cache.
        ...(env.cache.enabled ? [{ peers: [namespacePeer(ns.app, selectorLabels({ name: SEED.cache.name }))], ports: tcpPorts(SEED.cache.metricsPort) }] : []),
        // libs/backup's WAL receiver (backup.walReceiver).
        ...(env.backup.walReceiver.enabled
          ? [{ peers: [namespacePeer(ns.app, selectorLabels({ name: 'bitpin-backup', instance: SEED.backup.walReceiver.name }))], ports: tcpPorts(SEED.backup.walReceiver.metricsPort) }]
          : []),
        // Loki and the log agent both serve metrics on their port named `http-metrics`; the
        // logging Grafana on `http` (the scrape jobs select the same names).
        { peers: [namespacePeer(ns.logging)], ports: named('http-metrics', 'http') },
        nodesEgress(env, [KUBELET_PORT, env.monitoring.nodeExporter.port]),
        apiServerEgress(env),
      ],
    );
    policy(
      'Alertmanager',
      M.alertmanager.name,
      'Prometheus and Grafana → :9093; replicas gossip on :9094; it → receivers',
      [
        { peers: [pods(M.prometheus.name), pods(M.grafana.name)], ports: tcpPorts(M.alertmanager.port) },
        { peers: [pods(M.alertmanager.name)], ports: [...tcpPorts(M.alertmanager.clusterPort), { protocol: 'UDP', port: k8s.IntOrString.fromNumber(M.alertmanager.clusterPort) }] },
      ],
      [
        { peers: [pods(M.alertmanager.name)], ports: [...tcpPorts(M.alertmanager.clusterPort), { protocol: 'UDP', port: k8s.IntOrString.fromNumber(M.alertmanager.clusterPort) }] },
        { peers: outsideClusterPeers(env, net.alertReceivers.cidrs), ports: tcpPorts(...net.alertReceivers.ports) },
      ],
    );
    policy(
      'Grafana',
      M.grafana.name,
      `people (an ingress controller, a port-forward) and Prometheus → :${grafanaPort}; it → Prometheus, Alertmanager, ${victoria ? 'VictoriaLogs' : 'Loki'}`,
      // People reach Grafana from wherever the cluster lets them.
      [{ ports: tcpPorts(grafanaPort) }],
      [
        { peers: [pods(M.prometheus.name)], ports: tcpPorts(M.prometheus.port) },
        { peers: [pods(M.alertmanager.name)], ports: tcpPorts(M.alertmanager.port) },
        victoria
          ? { peers: [namespacePeer(ns.logging, selectorLabels({ name: SEED.logging.victorialogs.name }))], ports: tcpPorts(env.logging.victorialogs.port) }
          : { peers: [namespacePeer(ns.logging, selectorLabels({ name: SEED.logging.loki.name }))], ports: tcpPorts(env.logging.loki.port) },
      ],
    );
    policy(
      'KubeStateMetrics',
      M.kubeStateMetrics.name,
      'Prometheus → :8080, :8081; it → API server',
      [{ peers: [prometheusPeer()], ports: tcpPorts(M.kubeStateMetrics.port, M.kubeStateMetrics.telemetryPort) }],
      [apiServerEgress(env)],
    );
    this.policies = names;
  }
}
