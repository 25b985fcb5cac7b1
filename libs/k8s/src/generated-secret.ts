import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';

import { DEPLOY_ANNOTATIONS } from '@bitpin/config';

/** Annotation telling the deployer to create the Secret once, with generated values, and never overwrite it. */
export const GENERATE_ANNOTATION = DEPLOY_ANNOTATIONS.generate;

/** How one key's value is made: a fixed non-secret value, or random bytes (base64url). */
export type SecretValueSpec = { readonly literal: string } | { readonly randomBytes: number };

export interface GeneratedSecretProps {
  readonly name: string;
  readonly namespace: string;
  /** Key → how its value is generated. */
  readonly keys: Readonly<Record<string, SecretValueSpec>>;
  readonly labels?: Readonly<Record<string, string>>;
  /** @default 'Opaque' */
  readonly type?: string;
}

/**
 * A Secret whose values are generated in the cluster, not kept in the repo: the manifest carries
 * only the recipe (an annotation). The deployer creates it when it is missing and never changes
 * or prints an existing one, so rotating means deleting it (or editing it) on purpose.
 */
export class GeneratedSecret extends Construct {
  readonly name: string;

  constructor(scope: Construct, id: string, props: GeneratedSecretProps) {
    super(scope, id);
    this.name = props.name;
    for (const [key, spec] of Object.entries(props.keys)) {
      if ('randomBytes' in spec && (!Number.isInteger(spec.randomBytes) || spec.randomBytes < 16 || spec.randomBytes > 256)) {
        throw new Error(`GeneratedSecret ${props.name}: key '${key}' randomBytes (${spec.randomBytes}) must be an integer from 16 to 256`);
      }
    }
    const recipe = Object.fromEntries(
      Object.entries(props.keys).map(([k, v]) => [k, 'literal' in v ? `literal:${v.literal}` : `random:${v.randomBytes}`]),
    );
    new k8s.KubeSecret(this, 'Resource', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        ...(props.labels ? { labels: { ...props.labels } } : {}),
        annotations: { [GENERATE_ANNOTATION]: JSON.stringify(recipe) },
      },
      type: props.type ?? 'Opaque',
    });
  }
}
