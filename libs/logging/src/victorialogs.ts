import { SEED } from '@bitpin/config';
import {
  httpProbe,
  restrictedContainerSecurity,
  selectorLabels,
  standardLabels,
  toResourceRequirements,
  type PlatformChart,
} from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { logStoreServices, logStoreStatefulSet } from './log-store.js';
import { VICTORIALOGS_DATA_DIR, VICTORIALOGS_NAME, victoriaLogsArgs } from './victorialogs-config.js';

/** The UID and GID VictoriaLogs runs as (the image is `scratch`-based and needs none of its own); the PVC is group-owned by it. */
export const VICTORIALOGS_UID = 65534;

export interface VictoriaLogsProps {
  /**
   * Seconds VictoriaLogs gets to flush in-memory parts to the volume when the pod stops.
   * @default 30
   */
  readonly terminationGracePeriodSeconds?: number;
}

/**
 * The log store when `logging.backend` is `victorialogs`: StatefulSet `victorialogs` in namespace
 * `logging`, HTTP :9428 (`/health`, `/metrics`, Loki's push API at /insert/loki/api/v1/push,
 * vlagent's /insert/native, LogsQL at /select/logsql/query), its data on a PersistentVolumeClaim
 * per pod (template `storage`, kept when the StatefulSet is deleted), retention by age and disk
 * size from the env ({@link victoriaLogsArgs}: the flags are its whole configuration).
 * Services: `victorialogs` (clients) and `victorialogs-headless` (governing).
 */
export class VictoriaLogs extends Construct {
  readonly name: string = VICTORIALOGS_NAME;
  readonly namespace: string = SEED.namespaces.logging;
  readonly headlessServiceName: string = `${VICTORIALOGS_NAME}-headless`;
  readonly port: number;
  /** The flags the container runs with. */
  readonly args: readonly string[];

  constructor(scope: PlatformChart, id: string, props: VictoriaLogsProps = {}) {
    super(scope, id);
    const env = scope.env;
    const cfg = env.logging.victorialogs;
    this.port = cfg.port;
    const grace = props.terminationGracePeriodSeconds ?? 30;
    if (!Number.isInteger(grace) || grace < 10 || grace > 3600) {
      throw new Error(`VictoriaLogs: 'terminationGracePeriodSeconds' (${grace}) must be an integer between 10 and 3600`);
    }
    this.args = victoriaLogsArgs(env);

    const labels = standardLabels(env, { name: this.name, component: 'logging' });
    const selector = selectorLabels({ name: this.name });
    const meta = (name: string) => ({ name, namespace: this.namespace, labels });

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(this.name), automountServiceAccountToken: false });
    const ports: k8s.ServicePort[] = [{ name: 'http-metrics', port: this.port, targetPort: k8s.IntOrString.fromString('http-metrics'), protocol: 'TCP' }];
    const store = { name: this.name, namespace: this.namespace, headlessServiceName: this.headlessServiceName, labels, selector };
    logStoreServices(this, store, ports);

    const container: k8s.Container = {
      name: this.name,
      image: env.images.victorialogs,
      imagePullPolicy: 'IfNotPresent',
      args: [...this.args],
      ports: [{ name: 'http-metrics', containerPort: this.port, protocol: 'TCP' }],
      // /health answers 200 once the storage is open (and while it serves).
      readinessProbe: httpProbe({ path: '/health', port: 'http-metrics', initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 2 }),
      livenessProbe: httpProbe({ path: '/health', port: 'http-metrics', initialDelaySeconds: 30, periodSeconds: 20, failureThreshold: 6 }),
      resources: toResourceRequirements(cfg.resources),
      securityContext: restrictedContainerSecurity({ runAsUser: VICTORIALOGS_UID }),
      volumeMounts: [{ name: 'storage', mountPath: VICTORIALOGS_DATA_DIR }],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    };

    logStoreStatefulSet(this, {
      ...store,
      job: SEED.monitoring.jobs.victorialogs,
      metricsPort: this.port,
      configText: this.args.join('\n'),
      terminationGracePeriodSeconds: grace,
      uid: VICTORIALOGS_UID,
      container,
      storage: { size: cfg.storageSize, storageClass: cfg.storageClass },
    });
  }
}
