import { SEED, cnpgNames, parseDuration } from '@bitpin/config';
import {
  PlatformNamespace,
  httpProbe,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  standardLabels,
  toResourceRequirements,
  type PlatformChart,
  CACHE_CLIENT_LABEL,
  DATABASE_CLIENT_LABEL,
  DATABASE_POOLER_CLIENT_LABEL,
  PodNetworkPolicy,
  namespacePeer,
  prometheusPeer,
  tcpPorts,
} from '@bitpin/k8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';

export interface BitpinAppProps {
  /**
   * UID the Django container runs as. The seed image does not declare a user, so we pick a
   * non-root one; the writable paths (static, media, /tmp) are volumes owned by `fsGroup`.
   * @default 1000
   */
  readonly runAsUser?: number;
  /**
   * Mount Django's root filesystem read-only. Python writes no bytecode (PYTHONDONTWRITEBYTECODE)
   * and /tmp is an emptyDir, so the app needs no other writable path.
   * @default true
   */
  readonly readOnlyRootFilesystem?: boolean;
  /**
   * Seconds the pod keeps serving after it is marked terminating, so every endpoint watcher
   * (kube-proxy, ingress) has dropped it before connections are refused.
   * @default 5
   */
  readonly preStopSleepSeconds?: number;
  /**
   * Create the `bitpin-task` Namespace. Disable when the namespace is managed elsewhere.
   * @default true
   */
  readonly createNamespace?: boolean;
}

/** The port names of the pod. Prometheus and the Service refer to them by name. */
export const APP_PORTS = {
  /** Django (gunicorn/runserver) inside the pod. */
  app: { name: 'app', port: SEED.app.containerPort },
  /** The metrics sidecar's proxy port: the Service targets it in proxy mode. */
  http: { name: 'http', port: SEED.sidecar.proxyPort },
  /** The metrics sidecar's Prometheus endpoint (not exposed by the Service). */
  metrics: { name: 'metrics', port: SEED.sidecar.metricsPort },
} as const;

const DB_CA_MOUNT = '/etc/bitpin/db-ca';

/**
 * The Django application tier of the seed: Namespace `bitpin-task`, Deployment `bitpin-app`
 * (with the metrics sidecar beside Django), Service `bitpin-app-svc` (NodePort 30505), a
 * ServiceAccount without API access, and — when the env can run more than one replica — an
 * autoscaling/v2 HorizontalPodAutoscaler and a PodDisruptionBudget.
 */
export class BitpinApp extends Construct {
  readonly namespace: string = SEED.namespaces.app;
  readonly name: string = SEED.app.name;
  readonly serviceName: string = SEED.app.serviceName;
  /** Labels that select the app's pods (the seed's `app=bitpin-app`). */
  readonly selector: Readonly<Record<string, string>> = { app: SEED.app.name };
  readonly runAsUser: number;
  readonly readOnlyRootFilesystem: boolean;
  /** The Service's target: the sidecar in proxy mode, Django otherwise. */
  readonly serviceTargetPort: string;

  constructor(scope: PlatformChart, id: string, props: BitpinAppProps = {}) {
    super(scope, id);
    const env = scope.env;
    const cfg = env.app;
    const db = cnpgNames();
    this.runAsUser = props.runAsUser ?? 1000;
    this.readOnlyRootFilesystem = props.readOnlyRootFilesystem ?? true;
    const preStop = props.preStopSleepSeconds ?? 5;
    if (!Number.isInteger(preStop) || preStop < 0 || preStop > 60) {
      throw new Error(`BitpinApp: 'preStopSleepSeconds' (${preStop}) must be an integer between 0 and 60`);
    }
    if (!Number.isInteger(this.runAsUser) || this.runAsUser <= 0) {
      throw new Error(`BitpinApp: 'runAsUser' (${this.runAsUser}) must be a positive integer (root is not allowed)`);
    }
    const proxied = cfg.sidecar.enabled && cfg.sidecar.mode === 'proxy';
    this.serviceTargetPort = proxied ? APP_PORTS.http.name : APP_PORTS.app.name;

    const labels = standardLabels(env, { name: this.name, component: 'web', extra: this.selector });
    const meta = (name: string, component = 'web') => ({
      name,
      namespace: this.namespace,
      labels: standardLabels(env, { name: this.name, instance: this.name, component, extra: this.selector }),
    });

    if (props.createNamespace ?? true) {
      new PlatformNamespace(scope, 'Namespace', { name: this.namespace });
    }

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: meta(this.name),
      automountServiceAccountToken: false,
    });

    // Static and media: emptyDir as the seed says, or PVCs when the env wants them to survive.
    // With more than one replica a PVC must be ReadWriteMany.
    const maxPods = Math.max(cfg.replicas, cfg.autoscaling.enabled ? cfg.autoscaling.maxReplicas : 0);
    const fileVolume = (name: 'static' | 'media', size: string): k8s.Volume => {
      if (!cfg.storage.persistent) return { name, emptyDir: {} };
      const claimName = `${this.name}-${name}`;
      new k8s.KubePersistentVolumeClaim(this, `${name === 'static' ? 'Static' : 'Media'}Claim`, {
        metadata: meta(claimName, 'storage'),
        spec: {
          accessModes: [maxPods > 1 ? 'ReadWriteMany' : 'ReadWriteOnce'],
          resources: { requests: { storage: k8s.Quantity.fromString(size) } },
          ...(cfg.storage.storageClass ? { storageClassName: cfg.storage.storageClass } : {}),
        },
      });
      return { name, persistentVolumeClaim: { claimName } };
    };

    const secretEnv = (name: string, key: string): k8s.EnvVar => ({
      name,
      valueFrom: { secretKeyRef: { name: db.appSecret, key } },
    });
    // With pooling on, the app reaches PostgreSQL only through PgBouncer (the Pooler's Service,
    // same port); with read replicas, reads that tolerate lag may go to DB_READ_HOST.
    const dbCfg = env.database;
    const pooled = dbCfg.pooler.enabled;
    const readHost = dbCfg.readReplicas.enabled ? (pooled ? db.poolerRo : db.ro) : undefined;
    const dbEnv: k8s.EnvVar[] = [
      pooled ? { name: 'DB_HOST', value: db.poolerRw } : secretEnv('DB_HOST', 'host'),
      secretEnv('DB_PORT', 'port'),
      ...(readHost ? [{ name: 'DB_READ_HOST', value: readHost }] : []),
      // Django's settings set DISABLE_SERVER_SIDE_CURSORS when this is `transaction`.
      ...(pooled ? [{ name: 'DB_POOL_MODE', value: dbCfg.pooler.poolMode }] : []),
      secretEnv('DB_NAME', 'dbname'),
      secretEnv('DB_USER', 'username'),
      secretEnv('DB_PASSWORD', 'password'),
      // libpq reads these even when Django passes host/port itself: TLS with the server's
      // identity checked against the cluster CA (the secret's `host` is bitpin-cluster-rw; the
      // poolers present the cluster's certificate, which names their Services too).
      { name: 'PGSSLMODE', value: 'verify-full' },
      { name: 'PGSSLROOTCERT', value: `${DB_CA_MOUNT}/ca.crt` },
    ];

    // The Redis cache (libs/cache, `cache.enabled`): the password by secretKeyRef, and the URL the
    // Django settings read, which the kubelet composes from it ($(REDIS_PASSWORD) is expanded in
    // the container; the manifest holds only the reference). Declared before REDIS_URL, as the
    // expansion requires.
    const cache = SEED.cache;
    const cacheEnv: k8s.EnvVar[] = env.cache.enabled
      ? [
          { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: cache.authSecret, key: cache.passwordKey } } },
          { name: 'REDIS_HOST', value: cache.name },
          { name: 'REDIS_PORT', value: String(cache.port) },
          { name: 'REDIS_URL', value: `redis://:$(REDIS_PASSWORD)@${cache.name}:${cache.port}/0` },
        ]
      : [];

    const django: k8s.Container = {
      name: 'django',
      image: env.images.app,
      imagePullPolicy: 'IfNotPresent',
      ports: [{ name: APP_PORTS.app.name, containerPort: APP_PORTS.app.port, protocol: 'TCP' }],
      env: [
        { name: 'DJANGO_SETTINGS_MODULE', value: SEED.app.settingsModule },
        { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
        { name: 'PYTHONUNBUFFERED', value: '1' },
        ...dbEnv,
        ...cacheEnv,
      ],
      livenessProbe: httpProbe({ path: SEED.app.healthPath, port: APP_PORTS.app.name, ...SEED.app.liveness }),
      readinessProbe: httpProbe({ path: SEED.app.healthPath, port: APP_PORTS.app.name, ...SEED.app.readiness }),
      ...(cfg.startupProbe.enabled
        ? {
            startupProbe: httpProbe({
              path: SEED.app.healthPath,
              port: APP_PORTS.app.name,
              periodSeconds: cfg.startupProbe.periodSeconds,
              failureThreshold: cfg.startupProbe.failureThreshold,
            }),
          }
        : {}),
      resources: toResourceRequirements(cfg.resources),
      securityContext: restrictedContainerSecurity({
        runAsUser: this.runAsUser,
        readOnlyRootFilesystem: this.readOnlyRootFilesystem,
      }),
      lifecycle: preStop > 0 ? { preStop: { sleep: { seconds: preStop } } } : undefined,
      volumeMounts: [
        { name: 'static', mountPath: SEED.app.staticPath },
        { name: 'media', mountPath: SEED.app.mediaPath },
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'db-ca', mountPath: DB_CA_MOUNT, readOnly: true },
      ],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    };

    // The sidecar is a native sidecar (restartPolicy: Always init container): it is ready before
    // Django receives traffic and stops after Django has drained, so proxied requests never hit a
    // missing proxy. Its behaviour lives in apps/metrics-sidecar.
    const lastScrape = parseDuration(env.monitoring.prometheus.scrapeInterval) ?? 15;
    const sidecar: k8s.Container | undefined = cfg.sidecar.enabled
      ? {
          name: SEED.sidecar.name,
          image: env.images.metricsSidecar,
          imagePullPolicy: 'IfNotPresent',
          restartPolicy: 'Always',
          ports: [
            { name: APP_PORTS.http.name, containerPort: APP_PORTS.http.port, protocol: 'TCP' },
            { name: APP_PORTS.metrics.name, containerPort: APP_PORTS.metrics.port, protocol: 'TCP' },
          ],
          env: [
            { name: 'SIDECAR_MODE', value: cfg.sidecar.mode },
            { name: 'SIDECAR_LISTEN_PORT', value: String(APP_PORTS.http.port) },
            { name: 'SIDECAR_METRICS_PORT', value: String(APP_PORTS.metrics.port) },
            { name: 'SIDECAR_UPSTREAM_URL', value: `http://127.0.0.1:${APP_PORTS.app.port}` },
            { name: 'SIDECAR_HEALTH_PATH', value: SEED.app.healthPath },
            { name: 'SIDECAR_ROUTE_CARDINALITY_CAP', value: String(cfg.sidecar.routeCardinalityCap) },
            // After its drain the sidecar keeps /metrics up until one scrape has seen the drained
            // requests: one scrape interval at most (the pod's grace period leaves room for it).
            { name: 'SIDECAR_DRAIN_LAST_SCRAPE_SECONDS', value: String(lastScrape) },
            ...dbEnv,
            // The sidecar's read-only probe: the read host, or (pooled, no replicas) the rw pooler —
            // the pod reaches no database Service directly when pooling is on.
            ...(readHost || pooled ? [{ name: 'SIDECAR_DB_RO_HOST', value: readHost ?? db.poolerRw }] : []),
          ],
          livenessProbe: httpProbe({ path: '/healthz', port: APP_PORTS.metrics.name, periodSeconds: 10 }),
          readinessProbe: httpProbe({ path: '/readyz', port: APP_PORTS.metrics.name, periodSeconds: 5 }),
          resources: toResourceRequirements(cfg.sidecar.resources),
          securityContext: restrictedContainerSecurity({ runAsUser: 10001 }),
          volumeMounts: [{ name: 'db-ca', mountPath: DB_CA_MOUNT, readOnly: true }],
          terminationMessagePolicy: 'FallbackToLogsOnError',
        }
      : undefined;

    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { ...meta(this.name), labels },
      spec: {
        // Under an HPA the replica count belongs to the autoscaler: leaving it out keeps every
        // apply from resetting a scaled-out Deployment.
        ...(cfg.autoscaling.enabled ? {} : { replicas: cfg.replicas }),
        revisionHistoryLimit: 5,
        progressDeadlineSeconds: 600,
        selector: { matchLabels: { ...this.selector } },
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) },
        },
        template: {
          // The database's (pooled: the poolers') network policy admits pods that carry its client label; the cache's
          // (when the env runs one) those that carry the cache-client label.
          metadata: { labels: { ...labels, [pooled ? DATABASE_POOLER_CLIENT_LABEL : DATABASE_CLIENT_LABEL]: 'true', ...(env.cache.enabled ? { [CACHE_CLIENT_LABEL]: 'true' } : {}) } },
          spec: {
            serviceAccountName: this.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            // preStop, Django's 30 s to finish its requests, then the sidecar's last scrape.
            terminationGracePeriodSeconds: 30 + preStop + (sidecar ? lastScrape : 0),
            securityContext: restrictedPodSecurity({ runAsUser: this.runAsUser, fsGroup: this.runAsUser }),
            ...(sidecar ? { initContainers: [sidecar] } : {}),
            containers: [django],
            volumes: [
              fileVolume('static', cfg.storage.staticSize),
              fileVolume('media', cfg.storage.mediaSize),
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              // Only the CA certificate: the CA secret also holds ca.key, which never enters the pod.
              { name: 'db-ca', secret: { secretName: db.caSecret, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            ],
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: { ...this.selector } },
              },
              {
                maxSkew: 1,
                topologyKey: 'topology.kubernetes.io/zone',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: { ...this.selector } },
              },
            ],
          },
        },
      },
    });

    // The seed's entry is NodePort 30505; with `features.ingress` an Ingress with TLS replaces it
    // and the Service stays inside the cluster.
    const ingress = env.features.ingress;
    new k8s.KubeService(this, 'Service', {
      metadata: meta(this.serviceName),
      spec: {
        type: ingress.enabled ? 'ClusterIP' : 'NodePort',
        selector: { ...this.selector },
        ports: [
          {
            name: 'http',
            protocol: 'TCP',
            port: cfg.service.port,
            targetPort: k8s.IntOrString.fromString(this.serviceTargetPort),
            ...(ingress.enabled ? {} : { nodePort: cfg.service.nodePort }),
          },
        ],
      },
    });

    if (ingress.enabled) {
      // The schema requires host and tlsSecretName when enabled.
      new k8s.KubeIngress(this, 'Ingress', {
        metadata: {
          ...meta(this.name),
          ...(ingress.clusterIssuer ? { annotations: { 'cert-manager.io/cluster-issuer': ingress.clusterIssuer } } : {}),
        },
        spec: {
          ingressClassName: ingress.className,
          tls: [{ hosts: [ingress.host!], secretName: ingress.tlsSecretName! }],
          rules: [
            {
              host: ingress.host!,
              http: {
                paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: this.serviceName, port: { name: 'http' } } } }],
              },
            },
          ],
        },
      });
    }

    if (env.features.networkPolicies.enabled) {
      const servedPort = proxied ? APP_PORTS.http.port : APP_PORTS.app.port;
      new PodNetworkPolicy(this, 'NetworkPolicy', {
        name: this.name,
        namespace: this.namespace,
        appName: this.name,
        podSelector: this.selector,
        description: ingress.enabled
          ? `ingress controller (namespace ${ingress.controllerNamespace}) → :${servedPort}; Prometheus → :${APP_PORTS.metrics.port}; database access via ${pooled ? DATABASE_POOLER_CLIENT_LABEL : DATABASE_CLIENT_LABEL}`
          : `clients (NodePort ${cfg.service.nodePort}) → :${servedPort}; Prometheus → :${APP_PORTS.metrics.port}; database access via ${pooled ? DATABASE_POOLER_CLIENT_LABEL : DATABASE_CLIENT_LABEL}`,
        ingress: [
          // NodePort traffic arrives from any address (kube-proxy may SNAT it to a node's).
          { ...(ingress.enabled ? { peers: [namespacePeer(ingress.controllerNamespace)] } : {}), ports: tcpPorts(servedPort) },
          ...(cfg.sidecar.enabled ? [{ peers: [prometheusPeer()], ports: tcpPorts(APP_PORTS.metrics.port) }] : []),
        ],
      });
    }

    if (cfg.autoscaling.enabled) {
      new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
        metadata: meta(this.name),
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: this.name },
          minReplicas: cfg.autoscaling.minReplicas,
          maxReplicas: cfg.autoscaling.maxReplicas,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cfg.autoscaling.targetCpuUtilization } },
            },
          ],
          behavior: {
            scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
          },
        },
      });
    }

    if (maxPods > 1) {
      new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
        metadata: meta(this.name),
        spec: {
          maxUnavailable: k8s.IntOrString.fromNumber(1),
          selector: { matchLabels: { ...this.selector } },
          unhealthyPodEvictionPolicy: 'AlwaysAllow',
        },
      });
    }
  }
}
