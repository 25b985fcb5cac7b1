import { SEED, exceptWithin, isWideCidr, type EnvConfig } from '@bitpin/config';
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import type { PlatformChart } from './chart.js';
import { selectorLabels, standardLabels } from './labels.js';

/*
 * NetworkPolicies (`features.networkPolicies`). Every platform namespace denies all ingress and
 * egress (its PlatformNamespace creates `default-deny` and `allow-dns`); each library then allows
 * exactly the flows the seed needs for its own pods. Policies are additive, so one library's
 * rules never widen another's. Flows across libraries meet on contracts that live here:
 * - pods labelled {@link DATABASE_CLIENT_LABEL} may talk to the database (the app, the backup
 *   jobs that connect, a restore Job); the database library allows them, nobody else;
 * - pods labelled {@link DATABASE_POOLER_CLIENT_LABEL} (the app, when `database.pooler` is on) may
 *   talk to the PgBouncer pods of the CloudNativePG Poolers, and only the poolers reach the database
 *   for them;
 * - pods labelled {@link CACHE_CLIENT_LABEL} (the app) may talk to the Redis cache (libs/cache);
 * - Prometheus (namespace `monitoring`) may scrape each library's metrics port, which that
 *   library opens to {@link prometheusPeer};
 * - peers outside the platform (API server, nodes, DNS, the CloudNativePG operator, alert
 *   receivers) come from the env (`features.networkPolicies`).
 * CNIs such as Calico and Cilium match ipBlocks against pod IPs too: an ipBlock that stands for
 * something outside the pod network ({@link apiServerEgress}, {@link nodesEgress},
 * {@link outsideClusterPeers}) therefore always carries `except` for the cluster's pod and service
 * ranges (and the node ranges where it means "outside the cluster"), so it never opens a pod.
 * Kubelet probes come from the node and are always allowed by NetworkPolicy implementations.
 */

/** A pod carrying this label (value `"true"`) may open connections to the database's port 5432. */
export const DATABASE_CLIENT_LABEL = 'bitpin.io/database-client';

/**
 * A pod carrying this label (value `"true"`) may open connections to the database's poolers
 * (PgBouncer, port 5432) — not to the database itself (libs/database allows them).
 */
export const DATABASE_POOLER_CLIENT_LABEL = 'bitpin.io/database-pooler-client';

/**
 * A pod carrying this label (value `"true"`) may open connections to the Redis cache's port 6379
 * (libs/cache allows them, nobody else; only the app's pods carry it).
 */
export const CACHE_CLIENT_LABEL = 'bitpin.io/cache-client';

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Pods with these labels in the policy's own namespace. */
export function podsPeer(labels: Readonly<Record<string, string>>): k8s.NetworkPolicyPeer {
  return { podSelector: { matchLabels: { ...labels } } };
}

/** Pods with these labels (all pods when omitted) in another namespace, named. */
export function namespacePeer(namespace: string, labels?: Readonly<Record<string, string>>): k8s.NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } },
    ...(labels ? { podSelector: { matchLabels: { ...labels } } } : {}),
  };
}

/**
 * Address blocks, each minus the `excluded` ranges that lie inside it (`ipBlock.except`; the
 * Kubernetes API accepts only strict subsets there, and ranges outside the block need none).
 */
export function cidrPeers(cidrs: readonly string[], excluded: readonly string[] = []): k8s.NetworkPolicyPeer[] {
  return cidrs.map((cidr) => {
    const except = exceptWithin(cidr, excluded);
    return { ipBlock: { cidr, ...(except.length ? { except } : {}) } };
  });
}

/** The ranges no ipBlock of a machine outside the pod network may cover: pods and ClusterIPs. */
export function clusterRanges(env: EnvConfig): string[] {
  const c = env.features.networkPolicies.cluster;
  return [...c.podCidrs, ...c.serviceCidrs];
}

/**
 * Addresses outside the cluster (the alert receivers): these blocks minus the pod, service and
 * node ranges (a wide node range stands for "the nodes, wherever they are" and is not excepted).
 */
export function outsideClusterPeers(env: EnvConfig, cidrs: readonly string[]): k8s.NetworkPolicyPeer[] {
  const nodes = env.features.networkPolicies.cluster.nodeCidrs.filter((n) => !isWideCidr(n));
  return cidrPeers(cidrs, [...clusterRanges(env), ...nodes]);
}

/** Prometheus, the one scraper of every metrics port. */
export function prometheusPeer(): k8s.NetworkPolicyPeer {
  return namespacePeer(SEED.namespaces.monitoring, selectorLabels({ name: SEED.monitoring.prometheus.name }));
}

/** TCP ports. */
export function tcpPorts(...ports: readonly number[]): k8s.NetworkPolicyPort[] {
  return ports.map((p) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(p) }));
}

/** The egress rule that lets a pod reach the Kubernetes API server (`features.networkPolicies.apiServer`). */
export function apiServerEgress(env: EnvConfig): FlowRule {
  const api = env.features.networkPolicies.apiServer;
  return { peers: cidrPeers(api.cidrs, clusterRanges(env)), ports: tcpPorts(...api.ports) };
}

/** The egress rule that lets a pod reach the nodes (`features.networkPolicies.cluster.nodeCidrs`) on these ports. */
export function nodesEgress(env: EnvConfig, ports: readonly number[]): FlowRule {
  return { peers: cidrPeers(env.features.networkPolicies.cluster.nodeCidrs, clusterRanges(env)), ports: tcpPorts(...ports) };
}

/** One allowed direction: from/to these peers (anyone when omitted) on these ports (all when omitted). */
export interface FlowRule {
  readonly peers?: readonly k8s.NetworkPolicyPeer[];
  readonly ports?: readonly k8s.NetworkPolicyPort[];
}

export interface PodNetworkPolicyProps {
  readonly name: string;
  readonly namespace: string;
  /** Labels of the policy object (`app.kubernetes.io/name` of the pods it is about). */
  readonly appName: string;
  /** The pods the policy is about. */
  readonly podSelector: Readonly<Record<string, string>>;
  /**
   * Further conditions on those pods (`matchExpressions`), e.g. a label a set of pods must not have.
   * @default - none: every pod with the `podSelector` labels
   */
  readonly podSelectorExpressions?: readonly k8s.LabelSelectorRequirement[];
  /** Connections these pods accept. Omit to leave ingress to other policies. */
  readonly ingress?: readonly FlowRule[];
  /** Connections these pods open. Omit to leave egress to other policies. */
  readonly egress?: readonly FlowRule[];
  /** Why the flows exist, kept on the object (`bitpin.io/flows`). */
  readonly description: string;
}

/** One NetworkPolicy that allows flows for a set of pods (the namespace's default deny does the rest). */
export class PodNetworkPolicy extends Construct {
  constructor(scope: Construct, id: string, props: PodNetworkPolicyProps) {
    super(scope, id);
    const env = (Chart.of(this) as PlatformChart).env;
    const types: string[] = [];
    if (props.ingress) types.push('Ingress');
    if (props.egress) types.push('Egress');
    if (!types.length) throw new Error(`PodNetworkPolicy ${props.name}: give ingress or egress rules`);
    new k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels: standardLabels(env, { name: props.appName, component: 'network-policy' }),
        annotations: { 'bitpin.io/flows': props.description },
      },
      spec: {
        podSelector: {
          matchLabels: { ...props.podSelector },
          ...(props.podSelectorExpressions?.length ? { matchExpressions: props.podSelectorExpressions.map((e) => ({ ...e, ...(e.values ? { values: [...e.values] } : {}) })) } : {}),
        },
        policyTypes: types,
        ...(props.ingress ? { ingress: props.ingress.map((r) => ({ ...(r.peers ? { from: [...r.peers] } : {}), ...(r.ports ? { ports: [...r.ports] } : {}) })) } : {}),
        ...(props.egress ? { egress: props.egress.map((r) => ({ ...(r.peers ? { to: [...r.peers] } : {}), ...(r.ports ? { ports: [...r.ports] } : {}) })) } : {}),
      },
    });
  }
}

/**
 * A namespace's baseline: deny every connection in and out of every pod (`default-deny`), then
 * let every pod resolve names (`allow-dns`, to the env's cluster DNS pods on port 53).
 */
export class NamespaceNetworkBaseline extends Construct {
  constructor(scope: PlatformChart, id: string, props: { readonly namespace: string }) {
    super(scope, id);
    const env = scope.env;
    const meta = (name: string) => ({
      name,
      namespace: props.namespace,
      labels: standardLabels(env, { name: props.namespace, component: 'network-policy' }),
    });
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { ...meta('default-deny'), annotations: { 'bitpin.io/flows': 'nothing in or out unless another policy allows it' } },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    const dns = env.features.networkPolicies.dns;
    new k8s.KubeNetworkPolicy(this, 'AllowDns', {
      metadata: { ...meta('allow-dns'), annotations: { 'bitpin.io/flows': 'every pod → cluster DNS :53' } },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [namespacePeer(dns.namespace, dns.podLabels)],
            ports: [
              { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
              { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
            ],
          },
        ],
      },
    });
  }
}
