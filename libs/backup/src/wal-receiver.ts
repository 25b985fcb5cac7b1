import { SEED } from '@bitpin/config';
import { PodNetworkPolicy, prometheusPeer, restrictedContainerSecurity, selectorLabels, tcpPorts } from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { APP_NAME, connectionEnv, defaultConnection, labelsFor, MOUNTS, podTemplate, type PodContext } from './pod.js';

const R = SEED.backup.walReceiver;

/** Where the receiver writes its metrics (the `tmp` emptyDir both containers mount). */
export const WAL_RECEIVER_STATUS_DIR = `${MOUNTS.tmp}/bitpin-wal-receiver`;

export interface WalReceiverProps {
  /**
   * Secret (basic-auth `username`, `password`) of the backup role the receiver logs in as.
   * @default SEED.backup.credentialsSecret (`bitpin-backup-credentials`)
   */
  readonly credentialsSecret?: string;
  /**
   * Compression of the segments the incremental run publishes (the receiver writes plain WAL).
   * @default 'gzip:1'
   */
  readonly compression?: string;
  /**
   * Seconds between the receiver's lag checks (a query on the primary each).
   * @default 5
   */
  readonly metricsIntervalSeconds?: number;
}

/**
 * The WAL receiver (`backup.walReceiver.enabled`): Deployment `bitpin-wal-receiver`, one replica,
 * `Recreate` (two receivers must never write the archive at once), running `wal-receiver.sh` —
 * pg_receivewal from its own slot `bitpin_wal_receiver` into the backup volume's `wal/`,
 * `--synchronous`, restarted by a supervising loop (and the container by `restartPolicy: Always`)
 * — with a second container `metrics` serving its lag on port 9188 (`bitpin_metrics_http.py`).
 * Same restricted Pod as the backup Jobs (non-root uid 26, read-only root filesystem, no
 * capabilities, RuntimeDefault seccomp, no service-account token), TLS verify-full to
 * `bitpin-cluster-rw:5432` with only `ca.crt` mounted. With network policies on, it may reach the
 * database (the database-client label) and DNS (the namespace baseline), and only Prometheus may
 * reach it (port 9188).
 */
export class WalReceiver extends Construct {
  readonly name: string = R.name;
  readonly metricsPort: number = R.metricsPort;
  readonly deployment: k8s.KubeDeployment;

  constructor(scope: Construct, id: string, ctx: PodContext, props: WalReceiverProps = {}) {
    super(scope, id);
    const interval = props.metricsIntervalSeconds ?? 5;
    if (!Number.isInteger(interval) || interval < 1 || interval > 60) {
      throw new Error(`WalReceiver: 'metricsIntervalSeconds' (${interval}) must be a whole number from 1 to 60`);
    }
    const conn = defaultConnection(ctx.env, props.credentialsSecret ?? SEED.backup.credentialsSecret);
    const selector = selectorLabels({ name: APP_NAME, instance: this.name });
    const base = podTemplate(ctx, {
      instance: this.name,
      script: 'wal-receiver.sh',
      caSecret: conn.caSecret,
      env: [
        ...connectionEnv(conn),
        { name: 'BACKUP_SLOT', value: SEED.backup.walSlot },
        { name: 'BACKUP_RECEIVER_SLOT', value: R.slot },
        { name: 'BACKUP_RECEIVER_NAME', value: R.applicationName },
        { name: 'BACKUP_RECEIVER_STATUS_DIR', value: WAL_RECEIVER_STATUS_DIR },
        { name: 'BACKUP_RECEIVER_METRICS_INTERVAL', value: String(interval) },
        { name: 'BACKUP_COMPRESSION', value: props.compression ?? 'gzip:1' },
      ],
    });
    const spec = base.spec;
    const receiver = spec?.containers[0];
    if (!spec || !receiver) throw new Error('WalReceiver: the backup Pod template has no container');
    const metricsFile = `${WAL_RECEIVER_STATUS_DIR}/metrics.prom`;
    const stale = Math.max(60, interval * 6);
    const metrics: k8s.Container = {
      name: 'metrics',
      image: receiver.image,
      imagePullPolicy: receiver.imagePullPolicy,
      command: ['python3', '-I', '-S', `${MOUNTS.scripts}/bitpin_metrics_http.py`, metricsFile, String(this.metricsPort), String(stale)],
      ports: [{ name: 'metrics', containerPort: this.metricsPort, protocol: 'TCP' }],
      // Ready once the receiver has checked its lag; alive while the file is served.
      readinessProbe: { httpGet: { path: '/healthz', port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 10, failureThreshold: 3 },
      livenessProbe: { httpGet: { path: '/metrics', port: k8s.IntOrString.fromString('metrics') }, initialDelaySeconds: 30, periodSeconds: 30, failureThreshold: 3 },
      resources: { requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('32Mi') }, limits: { memory: k8s.Quantity.fromString('64Mi') } },
      securityContext: restrictedContainerSecurity({ runAsUser: ctx.runAsUser, runAsGroup: ctx.runAsUser }),
      volumeMounts: (receiver.volumeMounts ?? []).filter((m) => m.name === 'scripts' || m.name === 'tmp'),
    };
    // The lag check rewrites the metrics file every few seconds; a receiver whose check stopped
    // (a hung script) is restarted.
    const livenessProbe: k8s.Probe = {
      exec: { command: ['bash', '-c', `[[ -n "$(find ${metricsFile} -newermt '-${stale} seconds' 2>/dev/null)" ]]`] },
      initialDelaySeconds: 60,
      periodSeconds: 30,
      failureThreshold: 3,
    };
    // Ready once the lag check has written a fresh status (it has reached the database at least once).
    const readinessProbe: k8s.Probe = { exec: livenessProbe.exec, periodSeconds: 10, failureThreshold: 3 };
    const template: k8s.PodTemplateSpec = {
      metadata: base.metadata,
      spec: {
        ...spec,
        restartPolicy: 'Always',
        // pg_receivewal flushes what it has and exits on SIGTERM; the loop passes it on.
        terminationGracePeriodSeconds: 30,
        containers: [{ ...receiver, name: 'receiver', livenessProbe, readinessProbe }, metrics],
      },
    };
    this.deployment = new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, namespace: ctx.namespace, labels: labelsFor(ctx, this.name) },
      spec: {
        replicas: 1,
        // Never two receivers writing the archive at once: the old Pod is gone before the new starts.
        strategy: { type: 'Recreate' },
        revisionHistoryLimit: 3,
        selector: { matchLabels: selector },
        template,
      },
    });

    if (ctx.env.features.networkPolicies.enabled) {
      new PodNetworkPolicy(this, 'NetworkPolicy', {
        name: this.name,
        namespace: ctx.namespace,
        appName: APP_NAME,
        podSelector: selector,
        description: `Prometheus → :${this.metricsPort} (its lag); it → the database (${'bitpin.io/database-client'} label) and DNS (namespace baseline)`,
        ingress: [{ peers: [prometheusPeer()], ports: tcpPorts(this.metricsPort) }],
      });
    }
  }
}
