import { ipInCidr, ipv4ToNumber, nthAddress } from '@bitpin/config';

/*
 * Which connections a set of NetworkPolicies allows, computed by the rules of the Kubernetes API
 * (networking.k8s.io/v1, "NetworkPolicy" concepts page): a connection from A to B's port P is
 * allowed when A's egress allows it and B's ingress allows it; a pod selected by no policy of a
 * direction is open in that direction; policies add up.
 *
 * ipBlocks match pod IPs too, as CNIs such as Calico and Cilium enforce them (the API leaves it to
 * the implementation; this is the permissive reading, so a block that stands for "outside" but
 * covers pods shows up as the hole it is): give pods an `ip` from the cluster's pod range
 * ({@link withPodIps}). Used to compare the generated policies with the intended flow matrix.
 * Not modelled (CNI-specific): SNAT of NodePort traffic; host-network pods have no pod identity
 * (give them the node's `ip`).
 */

export interface EndpointPort {
  readonly port: number;
  readonly name?: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** A pod (labels + namespace, and its pod IP) or an address outside the pod network (ip only). */
export interface Endpoint {
  readonly id: string;
  /** Pods only. */
  readonly namespace?: string;
  /** Labels of the pod's namespace; `kubernetes.io/metadata.name` is added automatically. */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Pods only: the pod's labels. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * The address ipBlocks are matched against: a pod's IP (from the pod range), or the address of
   * a non-pod endpoint (API server, nodes, the internet). A pod without one matches no ipBlock.
   */
  readonly ip?: string;
  /** Ports it listens on. */
  readonly ports: readonly EndpointPort[];
}

export interface Flow {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PolicyPort[];
}
interface Policy {
  namespace: string;
  name: string;
  podSelector: LabelSelector;
  types: string[];
  ingress: Rule[];
  egress: Rule[];
}

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are plain JSON here */
const templateOf = (o: any): any =>
  o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template : o.kind === 'Pod' ? o : o.spec?.template;

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod']);

/**
 * One endpoint per workload in the manifests (its pod template's labels and container ports).
 * Host-network pods get `nodeIp` and no pod identity. Namespace labels come from the Namespace
 * objects present.
 */
export function endpointsFromObjects(objects: readonly unknown[], options: { nodeIp: string }): Endpoint[] {
  const nsLabels = new Map<string, Record<string, string>>();
  for (const o of objects as any[]) if (o.kind === 'Namespace') nsLabels.set(o.metadata.name, o.metadata.labels ?? {});
  const out: Endpoint[] = [];
  for (const o of objects as any[]) {
    if (!WORKLOAD_KINDS.has(o.kind)) continue;
    const t = templateOf(o);
    if (!t?.spec) continue;
    const ports: EndpointPort[] = [...(t.spec.initContainers ?? []), ...(t.spec.containers ?? [])].flatMap((c: any) =>
      (c.ports ?? []).map((p: any) => ({ port: p.containerPort, ...(p.name ? { name: p.name } : {}), protocol: p.protocol ?? 'TCP' })),
    );
    const id = `${o.metadata.namespace}/${o.metadata.name}`;
    out.push(
      t.spec.hostNetwork
        ? { id, ip: options.nodeIp, ports }
        : { id, namespace: o.metadata.namespace, namespaceLabels: nsLabels.get(o.metadata.namespace) ?? {}, labels: t.metadata?.labels ?? {}, ports },
    );
  }
  return out;
}

/**
 * The endpoints, with an address from `podCidr` for every pod that has none (in order, from the
 * range's first host address on, skipping addresses already taken), as the CNI would give them.
 */
export function withPodIps(endpoints: readonly Endpoint[], podCidr: string): Endpoint[] {
  const taken = new Set(endpoints.flatMap((e) => (e.ip === undefined ? [] : [ipv4ToNumber(e.ip)])));
  let n = 0;
  return endpoints.map((e) => {
    if (!e.labels || e.ip !== undefined) return e;
    let ip: string;
    do ip = nthAddress(podCidr, ++n);
    while (taken.has(ipv4ToNumber(ip)));
    taken.add(ipv4ToNumber(ip));
    return { ...e, ip };
  });
}

function policiesOf(objects: readonly unknown[]): Policy[] {
  return (objects as any[])
    .filter((o) => o.kind === 'NetworkPolicy')
    .map((o) => {
      const spec = o.spec ?? {};
      const types: string[] = spec.policyTypes ?? (spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
      return { namespace: o.metadata.namespace, name: o.metadata.name, podSelector: spec.podSelector ?? {}, types, ingress: spec.ingress ?? [], egress: spec.egress ?? [] };
    });
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function matches(sel: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const v = labels[e.key];
    const ok =
      e.operator === 'In' ? has && (e.values ?? []).includes(v!) :
      e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(v!) :
      e.operator === 'Exists' ? has :
      e.operator === 'DoesNotExist' ? !has :
      false;
    if (!ok) return false;
  }
  return true;
}

const nsLabelsOf = (e: Endpoint) => ({ ...e.namespaceLabels, 'kubernetes.io/metadata.name': e.namespace! });

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    if (other.ip === undefined) return false;
    return ipInCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => ipInCidr(other.ip!, c));
  }
  if (!other.labels) return false; // selectors select pods only
  const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector, nsLabelsOf(other)) : other.namespace === policyNamespace;
  return nsOk && matches(peer.podSelector, other.labels);
}

function portMatches(rulePorts: PolicyPort[] | undefined, p: EndpointPort): boolean {
  if (!rulePorts || rulePorts.length === 0) return true;
  return rulePorts.some((rp) => {
    if ((rp.protocol ?? 'TCP') !== p.protocol) return false;
    if (rp.port === undefined) return true;
    if (typeof rp.port === 'string') return rp.port === p.name;
    return rp.endPort !== undefined ? p.port >= rp.port && p.port <= rp.endPort : p.port === rp.port;
  });
}

function allowedBy(policies: Policy[], direction: 'Ingress' | 'Egress', self: Endpoint, other: Endpoint, port: EndpointPort): boolean {
  if (!self.labels) return true; // not a pod: NetworkPolicy does not apply
  const selecting = policies.filter((p) => p.namespace === self.namespace && p.types.includes(direction) && matches(p.podSelector, self.labels!));
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (direction === 'Ingress' ? p.ingress : p.egress).some((rule) => {
      const peers = direction === 'Ingress' ? rule.from : rule.to;
      const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, p.namespace, other));
      return peerOk && portMatches(rule.ports, port);
    }),
  );
}

/** Every (source, destination, port) the policies in `objects` allow between the endpoints. */
export function allowedFlows(objects: readonly unknown[], endpoints: readonly Endpoint[]): Flow[] {
  const policies = policiesOf(objects);
  const flows: Flow[] = [];
  for (const from of endpoints) {
    for (const to of endpoints) {
      if (!from.labels && !to.labels) continue; // neither side is a pod: not a NetworkPolicy matter
      for (const port of to.ports) {
        if (allowedBy(policies, 'Egress', from, to, port) && allowedBy(policies, 'Ingress', to, from, port)) {
          flows.push({ from: from.id, to: to.id, port: port.port, protocol: port.protocol });
        }
      }
    }
  }
  return flows;
}
