import { SEED, toYaml } from '@bitpin/config';
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
import { LOKI_CONFIG_DIR, LOKI_CONFIG_FILE, LOKI_DATA_DIR, lokiConfig, type LokiConfig } from './loki-config.js';
import { logStoreServices, logStoreStatefulSet } from './log-store.js';

export { SCRAPE_JOB_LABEL } from './log-store.js';

/** The grafana/loki image's user (UID and GID 10001); the PVC is group-owned by it. */
export const LOKI_UID = 10001;

export interface LokiProps {
  /**
   * Per-tenant limits merged over the env's (`lokiLimits(env)`), e.g. `{ ingestion_rate_mb: 16 }`.
   * Keys Loki 3.x removed are refused.
   * @default - the env's limits
   */
  readonly limits?: Readonly<Record<string, unknown>>;
  /** @default 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Seconds Loki gets to flush in-memory chunks to the volume when the pod stops (the WAL
   * replays anything it could not flush).
   * @default 60
   */
  readonly terminationGracePeriodSeconds?: number;
}

/**
 * Loki as the seed describes it: a single-binary StatefulSet `loki` in namespace `logging`,
 * HTTP :3100 (`/ready`, `/metrics`, the push and query APIs) and gRPC :9095, its data on a
 * PersistentVolumeClaim per pod (volumeClaimTemplate `storage`, size and class from the env,
 * kept when the StatefulSet is deleted). Services: `loki` (clients) and `loki-headless` (the
 * StatefulSet's governing Service). The config is the ConfigMap `loki` ({@link lokiConfig}).
 *
 * One replica: the filesystem object store is not shared, so Loki cannot scale out this way.
 */
export class Loki extends Construct {
  readonly name: string = SEED.logging.loki.name;
  readonly namespace: string = SEED.namespaces.logging;
  readonly headlessServiceName: string = `${SEED.logging.loki.name}-headless`;
  readonly port: number;
  readonly grpcPort: number = SEED.logging.loki.grpcPort;
  /** The config rendered into the ConfigMap. */
  readonly config: LokiConfig;
  readonly configYaml: string;

  constructor(scope: PlatformChart, id: string, props: LokiProps = {}) {
    super(scope, id);
    const env = scope.env;
    const cfg = env.logging.loki;
    this.port = cfg.port;
    const grace = props.terminationGracePeriodSeconds ?? 60;
    if (!Number.isInteger(grace) || grace < 10 || grace > 3600) {
      throw new Error(`Loki: 'terminationGracePeriodSeconds' (${grace}) must be an integer between 10 and 3600`);
    }
    this.config = lokiConfig(env, { limits: props.limits, logLevel: props.logLevel });
    this.configYaml = toYaml(this.config);

    const job = SEED.monitoring.jobs.loki;
    const labels = standardLabels(env, { name: this.name, component: 'logging' });
    const selector = selectorLabels({ name: this.name });
    const meta = (name: string) => ({ name, namespace: this.namespace, labels });

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(this.name), automountServiceAccountToken: false });

    new k8s.KubeConfigMap(this, 'Config', { metadata: meta(this.name), data: { [LOKI_CONFIG_FILE]: this.configYaml } });

    const ports: k8s.ServicePort[] = [
      { name: 'http-metrics', port: this.port, targetPort: k8s.IntOrString.fromString('http-metrics'), protocol: 'TCP' },
      { name: 'grpc', port: this.grpcPort, targetPort: k8s.IntOrString.fromString('grpc'), protocol: 'TCP' },
    ];
    const store = { name: this.name, namespace: this.namespace, headlessServiceName: this.headlessServiceName, labels, selector };
    logStoreServices(this, store, ports);

    const loki: k8s.Container = {
      name: 'loki',
      image: env.images.loki,
      imagePullPolicy: 'IfNotPresent',
      args: [`-config.file=${LOKI_CONFIG_DIR}/${LOKI_CONFIG_FILE}`, '-target=all'],
      ports: [
        { name: 'http-metrics', containerPort: this.port, protocol: 'TCP' },
        { name: 'grpc', containerPort: this.grpcPort, protocol: 'TCP' },
      ],
      // /ready turns 200 once the ring, the ingester and the compactor have started.
      readinessProbe: httpProbe({ path: '/ready', port: 'http-metrics', initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 2 }),
      // Liveness only asks whether the HTTP server answers: a slow ring must not restart Loki.
      livenessProbe: httpProbe({
        path: '/loki/api/v1/status/buildinfo',
        port: 'http-metrics',
        initialDelaySeconds: 30,
        periodSeconds: 20,
        failureThreshold: 6,
      }),
      resources: toResourceRequirements(cfg.resources),
      securityContext: restrictedContainerSecurity({ runAsUser: LOKI_UID }),
      volumeMounts: [
        { name: 'config', mountPath: LOKI_CONFIG_DIR, readOnly: true },
        { name: 'storage', mountPath: LOKI_DATA_DIR },
        { name: 'tmp', mountPath: '/tmp' },
      ],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    };

    logStoreStatefulSet(this, {
      ...store,
      job,
      metricsPort: this.port,
      configText: this.configYaml,
      terminationGracePeriodSeconds: grace,
      uid: LOKI_UID,
      container: loki,
      volumes: [
        { name: 'config', configMap: { name: this.name } },
        { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
      ],
      storage: { size: cfg.storageSize, storageClass: cfg.storageClass },
    });
  }
}
