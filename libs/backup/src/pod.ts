import { cnpgNames, SEED, type EnvConfig } from '@bitpin/config';
import { DATABASE_CLIENT_LABEL, restrictedContainerSecurity, restrictedPodSecurity, standardLabels, toResourceRequirements } from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { OFFSITE_CLIENT_LABEL, offsiteEnv, RCLONE_BIN_DIR, rcloneInitContainer } from './offsite.js';

/** Where things are mounted in every backup Pod. */
export const MOUNTS = {
  scripts: '/opt/bitpin-backup/scripts',
  backup: '/backup',
  scratch: '/scratch',
  ca: '/etc/bitpin-backup/ca',
  tmp: '/tmp',
} as const;

/** UID/GID of `postgres` in the CloudNativePG PostgreSQL images. */
export const POSTGRES_UID = 26;

export const COMPONENT = 'backup';
export const APP_NAME = 'bitpin-backup';

/** Everything a backup Pod template needs; resolved once by {@link Backups}. */
export interface PodContext {
  readonly env: EnvConfig;
  readonly namespace: string;
  readonly serviceAccountName: string;
  readonly scriptsConfigMap: string;
  readonly claimName: string;
  readonly image: string;
  readonly pgBinDir: string;
  readonly runAsUser: number;
  readonly scratchSizeLimit: string;
}

export interface ConnectionEnv {
  /** Secret whose `username`/`password` the Pod logs in with. */
  readonly credentialsSecret: string;
  /** Secret holding the server CA as `ca.crt`. */
  readonly caSecret: string;
  readonly host: string;
  readonly database: string;
}

export function defaultConnection(env: EnvConfig, credentialsSecret: string = SEED.backup.credentialsSecret): ConnectionEnv {
  const names = cnpgNames(SEED.database.clusterName);
  return { credentialsSecret, caSecret: names.caSecret, host: names.rw, database: env.database.database };
}

export function labelsFor(ctx: PodContext, instance: string): Record<string, string> {
  return standardLabels(ctx.env, { name: APP_NAME, instance, component: COMPONENT });
}

const plain = (name: string, value: string | number): k8s.EnvVar => ({ name, value: String(value) });

/** libpq variables: TLS verify-full against the primary's Service, credentials from a Secret. */
export function connectionEnv(c: ConnectionEnv): k8s.EnvVar[] {
  return [
    plain('PGHOST', c.host),
    plain('PGPORT', SEED.database.port),
    plain('PGDATABASE', c.database),
    plain('PGSSLMODE', 'verify-full'),
    plain('PGSSLROOTCERT', `${MOUNTS.ca}/ca.crt`),
    { name: 'PGUSER', valueFrom: { secretKeyRef: { name: c.credentialsSecret, key: 'username' } } },
    { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: c.credentialsSecret, key: 'password' } } },
  ];
}

export interface PodTemplateProps {
  readonly instance: string;
  readonly script: string;
  readonly env: k8s.EnvVar[];
  /**
   * Mount the CA Secret (only Pods that talk to the server); such Pods also carry the database
   * client label that the database's network policy admits.
   */
  readonly caSecret?: string;
  /** A shell command instead of one script (restore Jobs chain two runs). */
  readonly command?: string[];
  /**
   * The Pod talks to the off-site object store: rclone copied in by an init container, the
   * store's settings and keys (`env.backup.offsite`) in its environment, and the label its
   * NetworkPolicy admits.
   */
  readonly offsite?: boolean;
  /**
   * Mount the backup PersistentVolumeClaim at /backup; false: an emptyDir there instead (a
   * restore from the off-site copy when the claim is gone).
   * @default true
   */
  readonly backupClaim?: boolean;
}

/** The Pod template every backup, verification and restore Job shares. */
export function podTemplate(ctx: PodContext, props: PodTemplateProps): k8s.PodTemplateSpec {
  const volumes: k8s.Volume[] = [
    { name: 'scripts', configMap: { name: ctx.scriptsConfigMap, defaultMode: 0o555 } },
    props.backupClaim === false ? { name: 'backup', emptyDir: {} } : { name: 'backup', persistentVolumeClaim: { claimName: ctx.claimName } },
    { name: 'scratch', emptyDir: { sizeLimit: k8s.Quantity.fromString(ctx.scratchSizeLimit) } },
    { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
  ];
  const mounts: k8s.VolumeMount[] = [
    { name: 'scripts', mountPath: MOUNTS.scripts, readOnly: true },
    { name: 'backup', mountPath: MOUNTS.backup },
    { name: 'scratch', mountPath: MOUNTS.scratch },
    { name: 'tmp', mountPath: MOUNTS.tmp },
  ];
  if (props.caSecret) {
    // Only the CA certificate: the Secret also holds the CA's private key.
    volumes.push({ name: 'ca', secret: { secretName: props.caSecret, items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o440 } });
    mounts.push({ name: 'ca', mountPath: MOUNTS.ca, readOnly: true });
  }
  if (props.offsite) {
    volumes.push({ name: 'rclone-bin', emptyDir: { sizeLimit: k8s.Quantity.fromString('128Mi') } });
    mounts.push({ name: 'rclone-bin', mountPath: RCLONE_BIN_DIR, readOnly: true });
  }
  const b = ctx.env.backup;
  return {
    metadata: {
      labels: {
        ...labelsFor(ctx, props.instance),
        ...(props.caSecret ? { [DATABASE_CLIENT_LABEL]: 'true' } : {}),
        ...(props.offsite ? { [OFFSITE_CLIENT_LABEL]: 'true' } : {}),
      },
    },
    spec: {
      serviceAccountName: ctx.serviceAccountName,
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      enableServiceLinks: false,
      securityContext: restrictedPodSecurity({ runAsUser: ctx.runAsUser, runAsGroup: ctx.runAsUser, fsGroup: ctx.runAsUser }),
      // The backup volume is ReadWriteOnce: backup Pods prefer the node where another one runs,
      // so a full and an incremental run that overlap can both mount it.
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              podAffinityTerm: {
                labelSelector: { matchLabels: { 'app.kubernetes.io/name': APP_NAME } },
                topologyKey: 'kubernetes.io/hostname',
              },
            },
          ],
        },
      },
      ...(props.offsite ? { initContainers: [rcloneInitContainer(ctx.env, ctx.runAsUser)] } : {}),
      containers: [
        {
          name: 'backup',
          image: ctx.image,
          imagePullPolicy: 'IfNotPresent',
          command: props.command ?? ['bash', `${MOUNTS.scripts}/${props.script}`],
          env: [
            plain('BACKUP_DIR', MOUNTS.backup),
            plain('BACKUP_SCRATCH_DIR', MOUNTS.scratch),
            plain('PG_BINDIR', ctx.pgBinDir),
            plain('HOME', MOUNTS.tmp),
            plain('TMPDIR', MOUNTS.tmp),
            plain('BACKUP_VOLUME_WARN_RATIO', b.volumeWarnRatio),
            ...(props.offsite ? offsiteEnv(ctx.env) : []),
            ...props.env,
          ],
          resources: toResourceRequirements(b.resources),
          securityContext: restrictedContainerSecurity({ runAsUser: ctx.runAsUser, runAsGroup: ctx.runAsUser }),
          volumeMounts: mounts,
        },
      ],
      volumes,
    },
  };
}
