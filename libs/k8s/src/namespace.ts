import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import type { PlatformChart } from './chart.js';
import { NamespaceNetworkBaseline } from './network.js';

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

export interface PlatformNamespaceProps {
  readonly name: string;
  /**
   * The Pod Security Standard enforced in the namespace. `audit` and `warn` are always set to
   * `restricted` so anything below it is visible even where it is allowed.
   * @default - the env's `features.podSecurityLevel`
   */
  readonly podSecurity?: PodSecurityLevel;
  /** Why the namespace cannot be `restricted` (required when it is not). */
  readonly podSecurityReason?: string;
}

/**
 * A namespace with Pod Security Standards labels and, when the env turns network policies on,
 * its baseline: deny everything in and out, allow DNS ({@link NamespaceNetworkBaseline}).
 */
export class PlatformNamespace extends Construct {
  readonly name: string;
  readonly podSecurity: PodSecurityLevel;

  constructor(scope: PlatformChart, id: string, props: PlatformNamespaceProps) {
    super(scope, id);
    this.name = props.name;
    this.podSecurity = props.podSecurity ?? scope.env.features.podSecurityLevel;
    if (props.podSecurity && props.podSecurity !== 'restricted' && !props.podSecurityReason) {
      throw new Error(`PlatformNamespace ${props.name}: Pod Security '${props.podSecurity}' needs a podSecurityReason (why restricted cannot hold)`);
    }
    new k8s.KubeNamespace(this, 'Resource', {
      metadata: {
        name: props.name,
        labels: {
          'pod-security.kubernetes.io/enforce': this.podSecurity,
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
        ...(props.podSecurityReason ? { annotations: { 'bitpin.io/pod-security-reason': props.podSecurityReason } } : {}),
      },
    });
    if (scope.env.features.networkPolicies.enabled) {
      new NamespaceNetworkBaseline(scope, `${id}NetworkBaseline`, { namespace: props.name });
    }
  }
}
