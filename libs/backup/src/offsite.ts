import { type EnvConfig } from '@bitpin/config';
import { PlatformExternalSecret, PodNetworkPolicy, outsideClusterPeers, restrictedContainerSecurity, tcpPorts } from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';

/** Pods carrying this label (value `"true"`) may reach the off-site object store (and nothing else through it). */
export const OFFSITE_CLIENT_LABEL = 'bitpin.io/offsite-client';

/** Keys of the off-site Secret (`env.backup.offsite.secretName`). */
export const OFFSITE_SECRET_KEYS = ['access-key-id', 'secret-access-key', 'password', 'salt'] as const;

/** Where the init container puts the rclone binary in every off-site Pod. */
export const RCLONE_BIN_DIR = '/opt/bitpin-rclone';

/** The store's settings and keys as offsite.sh / lib-offsite.sh read them (keys from the Secret). */
export function offsiteEnv(env: EnvConfig): k8s.EnvVar[] {
  const o = env.backup.offsite;
  const secret = (name: string, key: (typeof OFFSITE_SECRET_KEYS)[number]): k8s.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: o.secretName, key } } });
  return [
    { name: 'BACKUP_OFFSITE_ENDPOINT', value: o.endpoint ?? '' },
    { name: 'BACKUP_OFFSITE_BUCKET', value: o.bucket ?? '' },
    { name: 'BACKUP_OFFSITE_PREFIX', value: `${o.prefix}/${env.name}` },
    { name: 'BACKUP_OFFSITE_REGION', value: o.region },
    { name: 'BACKUP_OFFSITE_PROVIDER', value: o.provider },
    { name: 'BACKUP_OFFSITE_KEEP_FULL', value: String(o.keepFull) },
    { name: 'RCLONE_BIN_DIR', value: RCLONE_BIN_DIR },
    secret('BACKUP_OFFSITE_ACCESS_KEY_ID', 'access-key-id'),
    secret('BACKUP_OFFSITE_SECRET_ACCESS_KEY', 'secret-access-key'),
    secret('BACKUP_OFFSITE_PASSWORD', 'password'),
    secret('BACKUP_OFFSITE_SALT', 'salt'),
  ];
}

/**
 * The init container that copies rclone (a static Go binary) from `env.images.rclone` into an
 * emptyDir the main container finds through `RCLONE_BIN_DIR`: the PostgreSQL image has none.
 */
export function rcloneInitContainer(env: EnvConfig, runAsUser: number): k8s.Container {
  return {
    name: 'rclone-bin',
    image: env.images.rclone,
    imagePullPolicy: 'IfNotPresent',
    command: ['cp', '/usr/local/bin/rclone', `${RCLONE_BIN_DIR}/rclone`],
    resources: {
      requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('16Mi') },
      limits: { memory: k8s.Quantity.fromString('64Mi') },
    },
    securityContext: restrictedContainerSecurity({ runAsUser, runAsGroup: runAsUser }),
    volumeMounts: [{ name: 'rclone-bin', mountPath: RCLONE_BIN_DIR }],
  };
}

export interface OffsiteAccessProps {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * What the off-site copy needs besides its Pods: the Secret's source, and the one egress it gets.
 * - With `features.externalSecrets` on, an ExternalSecret brings the store's keys and the
 *   encryption key from the env's secret store. Otherwise Secret `backup.offsite.secretName` is
 *   created outside the repo (like the backup role's). Never generated in the cluster: the
 *   encryption key must outlive the cluster, or the off-site copy cannot be read when it is needed.
 * - With network policies on, pods labelled {@link OFFSITE_CLIENT_LABEL} may open connections to
 *   `backup.offsite.egress` (the store's addresses minus the cluster's ranges) on its ports: the
 *   off-site CronJob and an off-site restore Job, nothing else.
 */
export class OffsiteAccess extends Construct {
  constructor(scope: Construct, id: string, env: EnvConfig, props: OffsiteAccessProps) {
    super(scope, id);
    const o = env.backup.offsite;
    if (env.features.externalSecrets.enabled) {
      new PlatformExternalSecret(this, 'Secret', { name: o.secretName, namespace: props.namespace, labels: props.labels, keys: OFFSITE_SECRET_KEYS });
    }
    if (env.features.networkPolicies.enabled) {
      new PodNetworkPolicy(this, 'NetworkPolicy', {
        name: 'bitpin-backup-offsite',
        namespace: props.namespace,
        appName: 'bitpin-backup',
        podSelector: { [OFFSITE_CLIENT_LABEL]: 'true' },
        description: `off-site backup Pods (${OFFSITE_CLIENT_LABEL}) → the object store ${o.endpoint ?? ''} (${o.egress.cidrs.join(', ')}) :${o.egress.ports.join(', ')}`,
        egress: [{ peers: outsideClusterPeers(env, o.egress.cidrs), ports: tcpPorts(...o.egress.ports) }],
      });
    }
  }
}
