import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import type { PlatformChart } from './chart.js';

export interface PlatformExternalSecretProps {
  /** The Secret the External Secrets Operator creates and keeps in sync. */
  readonly name: string;
  readonly namespace: string;
  /** Keys of the Secret; each is a property of the remote entry. */
  readonly keys: readonly string[];
  /** @default 'Opaque' */
  readonly type?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * An ExternalSecret (`external-secrets.io/v1`, `features.externalSecrets`): the External Secrets
 * Operator reads `<remoteKeyPrefix>/<env>/<namespace>/<name>` from the env's store and writes
 * Secret `name` with the given keys. The Secret stays when the remote entry disappears
 * (`deletionPolicy: Retain`), so a store outage or a deleted key never takes credentials away
 * from running pods.
 */
export class PlatformExternalSecret extends Construct {
  readonly remoteKey: string;

  constructor(scope: Construct, id: string, props: PlatformExternalSecretProps) {
    super(scope, id);
    const env = (Chart.of(this) as PlatformChart).env;
    const es = env.features.externalSecrets;
    if (!es.enabled || !es.secretStore) throw new Error(`PlatformExternalSecret ${props.name}: features.externalSecrets is off in env ${env.name}`);
    if (props.keys.length === 0) throw new Error(`PlatformExternalSecret ${props.name}: give at least one key`);
    this.remoteKey = `${es.remoteKeyPrefix}/${env.name}/${props.namespace}/${props.name}`;
    new ApiObject(this, 'Resource', {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: props.name, namespace: props.namespace, ...(props.labels ? { labels: { ...props.labels } } : {}) },
      spec: {
        refreshInterval: es.refreshInterval,
        secretStoreRef: { kind: es.storeKind, name: es.secretStore },
        target: {
          name: props.name,
          creationPolicy: 'Owner',
          deletionPolicy: 'Retain',
          template: { type: props.type ?? 'Opaque' },
        },
        data: props.keys.map((key) => ({ secretKey: key, remoteRef: { key: this.remoteKey, property: key } })),
      },
    });
  }
}
