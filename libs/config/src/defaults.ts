import type { EnvConfig } from './schema.js';

/**
 * The image catalog: every image the platform runs, pinned here and only here. Environments
 * override single entries (a release pipeline can also pass `--image key=ref` to the deployer).
 */
export const IMAGE_CATALOG: EnvConfig['images'] = {
  // The seed's image. Upstream publishes only a moving tag; prod-like envs must pin it or say why.
  app: 'docker.io/yasaman664/bitpin-task:latest',
  // Built from apps/metrics-sidecar/Dockerfile.
  metricsSidecar: 'ghcr.io/bitpin/metrics-sidecar:0.1.0',
  postgres: 'ghcr.io/cloudnative-pg/postgresql:15.3',
  // Same PostgreSQL 15 image: pg_basebackup, pg_receivewal, pg_dump and pg_verifybackup match the server.
  backup: 'ghcr.io/cloudnative-pg/postgresql:15.3',
  prometheus: 'quay.io/prometheus/prometheus:v3.5.0',
  alertmanager: 'quay.io/prometheus/alertmanager:v0.28.1',
  grafana: 'docker.io/grafana/grafana:12.1.1',
  nodeExporter: 'quay.io/prometheus/node-exporter:v1.9.1',
  kubeStateMetrics: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.16.0',
  configReloader: 'ghcr.io/jimmidyson/configmap-reload:v0.15.0',
  loki: 'docker.io/grafana/loki:3.5.3',
  promtail: 'docker.io/grafana/promtail:3.5.3',
  alloy: 'docker.io/grafana/alloy:v1.10.2',
  // The Django cache (libs/cache): Redis 7.2, the last BSD-licensed line (7.4 is RSAL/SSPL). Its
  // tests run the generated redis.conf on Debian bookworm's redis-server 7.0.15: every directive
  // it writes exists since 7.0.
  redis: 'docker.io/library/redis:7.2.7',
  // Built from its Go module at this version for the tests (libs/cache/scripts/build-redis-exporter.sh).
  redisExporter: 'docker.io/oliver006/redis_exporter:v1.74.0',
  // The versions libs/logging's tests run (built from github.com/VictoriaMetrics/VictoriaLogs v1.52.2).
  victorialogs: 'docker.io/victoriametrics/victoria-logs:v1.52.2',
  vlagent: 'docker.io/victoriametrics/vlagent:v1.52.2',
  // Carries /plugins/victoriametrics-logs-datasource, copied into Grafana's plugin dir by an init
  // container, so Grafana needs no internet at start (built from libs/logging/grafana-plugin/Dockerfile).
  grafanaVictoriaLogsPlugin: 'ghcr.io/bitpin/grafana-victorialogs-plugin:0.14.3',
  // PgBouncer of the CloudNativePG Poolers: the operator's default for v1.28.2
  // (pkg/versions DefaultPgbouncerImage), pinned here so an operator upgrade does not swap it.
  pgbouncer: 'ghcr.io/cloudnative-pg/pgbouncer:1.25.1',
  // libs/backup's off-site copy: an init container copies this image's static rclone binary
  // into the backup Pods (the PostgreSQL image has none); the tests run Debian bookworm's 1.60.1
  // with the same options.
  rclone: 'docker.io/rclone/rclone:1.68.2',
};

const small = (cpu: string, memory: string, limitMemory = memory): EnvConfig['app']['resources'] => ({
  requests: { cpu, memory },
  limits: { memory: limitMemory },
});

/**
 * The seed architecture document, as values. Every env starts from this; names, ports and
 * schedules that the document fixes (NodePort 30505, daily 02:00 UTC, every 15 minutes, 5Gi,
 * 2 instances, 15s scrape, Grafana :3000, Loki :3100, logging Grafana :80 / NodePort 30030,
 * node-exporter :9100) are here and nowhere else.
 */
export const SEED_DEFAULTS: Omit<EnvConfig, 'name' | 'description' | 'kube'> = {
  // Ten revisions, as Helm keeps by default; no automatic rollback, no confirmation (dev-like envs).
  deploy: { history: 10, atomic: false, confirm: false },
  images: IMAGE_CATALOG,
  imagePolicy: { requireImmutable: false, allowMutable: {} },
  app: {
    replicas: 1,
    autoscaling: { enabled: false, minReplicas: 1, maxReplicas: 4, targetCpuUtilization: 70 },
    // No limit on CPU: throttling a latency-sensitive web app hurts more than it protects.
    resources: small('250m', '256Mi', '512Mi'),
    service: { port: 80, nodePort: 30505 },
    storage: { persistent: false, staticSize: '1Gi', mediaSize: '5Gi', storageClass: undefined },
    startupProbe: { enabled: true, periodSeconds: 5, failureThreshold: 24 },
    // Measured: ~95 MB RSS steady, ~118 MB at saturation (docs/benchmarks.md, metrics-sidecar).
    sidecar: { enabled: true, mode: 'proxy', resources: small('50m', '128Mi', '192Mi'), routeCardinalityCap: 200 },
  },
  database: {
    instances: 2,
    storageSize: '5Gi',
    walStorageSize: undefined,
    storageClass: undefined,
    resources: small('250m', '512Mi', '1Gi'),
    database: 'app',
    owner: 'app',
    maxConnections: 200,
    // At most half of the volume holding pg_wal (checked by the schema).
    maxSlotWalKeepSize: '2GB',
    podAntiAffinity: 'preferred',
    // The seed's "read replicas" and "connection pooling" recommendations: off unless an env turns
    // them on (staging and prod do). Pooling costs two PgBouncer pods per pooler, which a one-replica
    // dev app with a handful of connections does not need.
    readReplicas: { enabled: false },
    pooler: {
      enabled: false,
      instances: 2,
      // Session: any Django settings work (server-side cursors, session SET, advisory locks), and
      // with CONN_MAX_AGE=0 a request's connection is short, so PgBouncer still saves PostgreSQL a
      // backend start and authentication per request (libs/database/README.md, docs/benchmarks.md).
      poolMode: 'session',
      defaultPoolSize: 20,
      minPoolSize: 0,
      reservePoolSize: 5,
      maxClientConn: 1000,
      // PgBouncer's default is 120 s; no request waits that long for a connection usefully.
      queryWaitTimeoutSeconds: 30,
      resources: small('50m', '64Mi', '128Mi'),
    },
  },
  // The seed has no cache: off unless an env turns it on (dev, staging, prod do). 192Mi of data
  // under a 256Mi limit (the schema asks for 25 % headroom); allkeys-lru because every key is a
  // cache entry (Django sets no TTL on timeout=None entries, which volatile-* would never evict).
  cache: {
    enabled: false,
    maxmemory: '192Mi',
    maxmemoryPolicy: 'allkeys-lru',
    persistence: { enabled: false, storageSize: '1Gi', storageClass: undefined },
    resources: small('50m', '256Mi'),
    exporterResources: small('10m', '32Mi', '64Mi'),
  },
  backup: {
    timeZone: 'Etc/UTC',
    storageSize: '20Gi',
    storageClass: undefined,
    resources: small('100m', '128Mi', '512Mi'),
    full: { schedule: '0 2 * * *', keep: 7 },
    incremental: { schedule: '*/15 * * * *' },
    retentionDays: 7,
    volumeWarnRatio: 0.8,
    // Off unless an env names its store (endpoint, bucket, egress).
    offsite: {
      enabled: false,
      endpoint: undefined,
      bucket: undefined,
      prefix: 'bitpin',
      region: 'us-east-1',
      provider: 'Other',
      // 10 minutes after each incremental run (*/15), so it usually finds that run published.
      schedule: '10,25,40,55 * * * *',
      keepFull: 14,
      secretName: 'bitpin-backup-offsite',
      egress: { cidrs: [], ports: [443] },
    },
    walReceiver: { enabled: true, synchronous: 'off', lagAlertSeconds: 60 },
  },
  monitoring: {
    prometheus: {
      scrapeInterval: '15s',
      evaluationInterval: '15s',
      retentionTime: '15d',
      retentionSize: '8GB',
      storageSize: '10Gi',
      storageClass: undefined,
      resources: small('250m', '1Gi', '2Gi'),
    },
    alertmanager: { replicas: 1, storageSize: '1Gi', resources: small('25m', '64Mi', '128Mi'), receiversSecret: 'alertmanager-receivers', placeholderReceivers: false },
    grafana: { port: 3000, storageSize: '1Gi', resources: small('50m', '128Mi', '256Mi') },
    nodeExporter: { port: 9100, resources: small('25m', '32Mi', '64Mi') },
    kubeStateMetrics: { resources: small('25m', '64Mi', '256Mi') },
  },
  logging: {
    backend: 'loki',
    agent: 'promtail',
    loki: {
      port: 3100,
      storageSize: '10Gi',
      storageClass: undefined,
      retentionPeriod: '744h',
      resources: small('100m', '256Mi', '1Gi'),
    },
    victorialogs: {
      port: 9428,
      storageSize: '10Gi',
      storageClass: undefined,
      retentionPeriod: '31d',
      maxDiskSpaceUsage: '8GiB',
      resources: small('100m', '256Mi', '1Gi'),
    },
    agentResources: small('50m', '64Mi', '256Mi'),
    grafana: { separate: true, port: 80, nodePort: 30030, resources: small('50m', '128Mi', '256Mi') },
  },
  features: {
    networkPolicies: {
      enabled: false,
      // Pods: the range of kubeadm's usual CNI setups (flannel, kind, `--pod-network-cidr`);
      // ClusterIPs: kube-apiserver's default `--service-cluster-ip-range`. The nodes' and the API
      // server's addresses differ per cluster: an env with policies on names them (the schema
      // refuses these wide defaults there unless the env says why, in `allowWide`).
      cluster: { podCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/12'], nodeCidrs: ['0.0.0.0/0'] },
      apiServer: { cidrs: ['0.0.0.0/0'], ports: [443, 6443] },
      dns: { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } },
      cnpgOperatorNamespace: 'cnpg-system',
      // Receivers are on the internet: anywhere outside the cluster's pod, service and node ranges.
      alertReceivers: { cidrs: ['0.0.0.0/0'], ports: [443, 587] },
      allowWide: {},
    },
    podSecurityLevel: 'baseline',
    resourceQuotas: { enabled: false, maxNodes: 10, headroom: 1.25 },
    ingress: { enabled: false, className: 'nginx', controllerNamespace: 'ingress-nginx', host: undefined, tlsSecretName: undefined, clusterIssuer: undefined },
    externalSecrets: { enabled: false, secretStore: undefined, storeKind: 'ClusterSecretStore', refreshInterval: '1h', remoteKeyPrefix: 'bitpin' },
  },
};
