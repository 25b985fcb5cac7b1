import { selectorLabels, type PlatformChart } from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { monitoringMeta, port } from './common.js';
import { MONITORING } from './names.js';

const M = MONITORING;
const pods = (name: string): k8s.NetworkPolicyPeer => ({ podSelector: { matchLabels: selectorLabels({ name }) } });
const tcp = (n: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: port(n) });

/**
 * Ingress policies of the monitoring namespace (`features.networkPolicies`): deny by default, then
 * allow exactly who talks to whom. Egress is left open (Prometheus scrapes every namespace and the
 * API server; Alertmanager sends to receivers outside the cluster). node-exporter runs on the host
 * network, where NetworkPolicy does not apply; kubelet probes come from the node and are always
 * allowed. Other namespaces that Prometheus scrapes must allow ingress from pods
 * `app.kubernetes.io/name=prometheus` in namespace `monitoring` on their metrics port.
 */
export class MonitoringNetworkPolicies extends Construct {
  /** Names of the policies created. */
  readonly policies: readonly string[];

  constructor(scope: PlatformChart, id: string) {
    super(scope, id);
    const env = scope.env;
    const policy = (cid: string, name: string, podName: string | undefined, ingress: k8s.NetworkPolicyIngressRule[]) =>
      new k8s.KubeNetworkPolicy(this, cid, {
        metadata: monitoringMeta(env, podName ?? 'monitoring', 'network-policy', name),
        spec: {
          podSelector: podName ? { matchLabels: selectorLabels({ name: podName }) } : {},
          policyTypes: ['Ingress'],
          ingress,
        },
      });

    policy('DefaultDeny', 'default-deny-ingress', undefined, []);
    // Grafana queries it; it scrapes itself.
    policy('Prometheus', M.prometheus.name, M.prometheus.name, [
      { from: [pods(M.grafana.name), pods(M.prometheus.name)], ports: [tcp(M.prometheus.port)] },
    ]);
    // Prometheus sends alerts and scrapes; Grafana reads silences; the replicas gossip.
    policy('Alertmanager', M.alertmanager.name, M.alertmanager.name, [
      { from: [pods(M.prometheus.name), pods(M.grafana.name)], ports: [tcp(M.alertmanager.port)] },
      {
        from: [pods(M.alertmanager.name)],
        ports: [tcp(M.alertmanager.port), tcp(M.alertmanager.clusterPort), { protocol: 'UDP', port: port(M.alertmanager.clusterPort) }],
      },
    ]);
    // People reach Grafana from wherever the cluster lets them (an ingress controller, a port-forward).
    policy('Grafana', M.grafana.name, M.grafana.name, [{ ports: [tcp(env.monitoring.grafana.port)] }]);
    policy('KubeStateMetrics', M.kubeStateMetrics.name, M.kubeStateMetrics.name, [
      { from: [pods(M.prometheus.name)], ports: [tcp(M.kubeStateMetrics.port), tcp(M.kubeStateMetrics.telemetryPort)] },
    ]);
    this.policies = ['default-deny-ingress', M.prometheus.name, M.alertmanager.name, M.grafana.name, M.kubeStateMetrics.name];
  }
}
