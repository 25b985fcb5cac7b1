import type { KubeObject } from '@bitpin/kube-client';
import { describe, expect, it } from 'vitest';
import { declaredPodSecurityNote, POD_SECURITY_REASON_ANNOTATION } from '../src/pod-security.js';

// The API server's text for node-exporter in `monitoring` (kube-apiserver v1.34.4, warn=restricted).
const WARNING =
  'would violate PodSecurity "restricted:latest": host namespaces (hostNetwork=true, hostPID=true), hostPort (container "node-exporter" uses hostPort 9100)';

/** A Namespace as libs/k8s PlatformNamespace writes it. */
function namespace(name: string, enforce: string, reason?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: { 'pod-security.kubernetes.io/enforce': enforce, 'pod-security.kubernetes.io/warn': 'restricted' },
      ...(reason ? { annotations: { [POD_SECURITY_REASON_ANNOTATION]: reason } } : {}),
    },
  };
}

const SET = [namespace('monitoring', 'privileged', 'node-exporter reads the host'), namespace('bitpin-task', 'restricted'), namespace('scratch', 'baseline')];

describe('PodSecurity warnings the set declares as exceptions', () => {
  it('a "restricted" warning in a namespace that enforces "privileged" with a reason is a note', () => {
    expect(declaredPodSecurityNote('DaemonSet/monitoring/node-exporter', WARNING, SET)).toBe(
      'pod security: DaemonSet/monitoring/node-exporter needs more than "restricted"; namespace monitoring enforces "privileged", as its bitpin.io/pod-security-reason explains',
    );
  });

  it('fails to excuse anything else: a restricted namespace, a level the namespace enforces, no reason, a namespace outside the set, another warning', () => {
    // bitpin-task enforces restricted: a violation there is a real problem
    expect(declaredPodSecurityNote('Deployment/bitpin-task/bitpin-app', WARNING, SET)).toBeUndefined();
    // the namespace's own enforce level
    expect(declaredPodSecurityNote('DaemonSet/monitoring/node-exporter', WARNING.replace('restricted:latest', 'privileged:latest'), SET)).toBeUndefined();
    // below restricted but without a reason
    expect(declaredPodSecurityNote('DaemonSet/scratch/agent', WARNING, SET)).toBeUndefined();
    // --only=app: the monitoring namespace is not in the set
    expect(declaredPodSecurityNote('DaemonSet/monitoring/node-exporter', WARNING, SET.slice(1))).toBeUndefined();
    expect(declaredPodSecurityNote('Deployment/monitoring/grafana', 'spec.template.spec.nodeSelector: deprecated', SET)).toBeUndefined();
    expect(declaredPodSecurityNote('ClusterRole/monitoring-prometheus', WARNING, SET)).toBeUndefined();
  });
});
